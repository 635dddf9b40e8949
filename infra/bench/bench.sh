#!/usr/bin/env bash
# `make bench`: measures Passport beside its baselines in one run and writes
# target/bench/results.json and target/bench/summary.md (see docs/performance.md).
#
#  1. installs what is missing (redis-server, wrk; PyJWT and redis-py into .venv);
#  2. starts a private redis-server; builds the functions, local-api and the harness with the
#     `perf` profile (release optimisation, no LTO, so it builds in minutes) into target/perf;
#  3. the Rust harness (cargo bench -p passport-bench): authorizer decision vs its floor,
#     verification, refresh and login with their Redis round trips, cold starts;
#  4. the Python baselines (PyJWT, the redis-py refresh flow);
#  5. GET /me through local-api under wrk at 64 connections beside redis-benchmark GET at 64,
#     login throughput, local-api's peak RSS; bootstrap sizes; each function's init under AWS's
#     Runtime Interface Emulator (every events/ file invoked through it);
#  6. the authorizers a team would pick instead — Node.js (jsonwebtoken + ioredis) and Python
#     (PyJWT + redis-py under awslambdaric) — beside Passport's, each under the emulator with
#     the same event, token and Redis (infra/bench/peers.py);
#  7. infra/bench/bench_report.py turns it all into the two files, with ratios and targets.
# BENCH_SECONDS (default 10) is the length of each load run; BENCH_SCALE multiplies iterations.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
# shellcheck source=infra/lib.sh
source infra/lib.sh

seconds=${BENCH_SECONDS:-10}
out=$root/target/bench
mkdir -p "$out"
rm -f "$out"/*.json "$out"/summary.md

ensure_packages
if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    step "installing wrk (apt-get)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  else
    echo "wrk is needed (Debian/Ubuntu: sudo apt-get install wrk)" >&2
    exit 1
  fi
fi
step "Python baselines' packages (.venv)"
venv_bin=$(bash infra/venv.sh)
"$venv_bin/python" -m pip install --quiet --progress-bar off -r infra/bench/requirements-bench.txt

start_private_redis
redis_url="redis://127.0.0.1:$redis_port"

step "building with the perf profile (functions, local-api, harness)"
# The packages the run needs, in one invocation; the harness run below names the same set, so
# it reuses every artefact.
packages=(-p authorizer -p app-authorizer -p login -p refresh -p logout -p sessions -p passports -p accounts
  -p signup -p mailer -p local-api -p passport-bench)
cargo build --locked --profile perf "${packages[@]}" --bins --benches

step "Rust harness: authorizer, verification, refresh, login, round trips, cold starts"
PASSPORT_BENCH_REDIS_URL=$redis_url PASSPORT_BENCH_OUT=$out PASSPORT_BENCH_BIN_DIR=$root/target/perf \
  BENCH_SCALE=${BENCH_SCALE:-1} cargo bench --locked --profile perf "${packages[@]}" --bench passport

step "Python baselines: PyJWT verify, the redis-py refresh flow"
"$venv_bin/python" infra/bench/bench_baselines.py --redis-url "$redis_url/1" \
  --token-file "$out/token.txt" --key "passport-tests-only-signing-key-0123456789" --out "$out" \
  --scale "${BENCH_SCALE:-1}"

step "throughput: GET /me through local-api (wrk, 64 connections, ${seconds}s) beside redis-benchmark GET"
api_port=$(free_port)
start "$workdir/api.log" env REDIS_URL="$redis_url/2" RUST_LOG=error \
  SIGNING_SECRET=bench-signing-key-0123456789abcdef0123 LOGIN_MAX_FAILURES=1000000 \
  LOGIN_IP_MAX_FAILURES=1000000 \
  target/perf/local-api --port "$api_port" --account "load@example.com:bench password long enough"
wait_for_port "$api_port" local-api "$workdir/api.log"
api_pid=$(pgrep -f "local-api --port $api_port" | head -1)
rss_start_kb=$(awk '/VmHWM/ {print $2}' "/proc/$api_pid/status")
base="http://127.0.0.1:$api_port"
login_body='{"email":"load@example.com","password":"bench password long enough"}'
access=$(curl -s -X POST "$base/login" -H 'content-type: application/json' -d "$login_body" |
  "$venv_bin/python" -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
redis_pid=$(pgrep -f "redis-server 127.0.0.1:$redis_port" | head -1)
# CPU time (ms) a process has used so far: utime + stime from /proc (clock ticks).
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) * 1000 / hz}' "/proc/$1/stat"; }
api_cpu0=$(cpu_ms "$api_pid"); redis_cpu0=$(cpu_ms "$redis_pid")
wrk -t2 -c64 -d"${seconds}s" --latency -H "Authorization: Bearer $access" "$base/me" \
  > "$out/wrk-me.txt"
api_cpu1=$(cpu_ms "$api_pid"); redis_cpu1=$(cpu_ms "$redis_pid")
rss_after_me_kb=$(awk '/VmHWM/ {print $2}' "/proc/$api_pid/status")
redis-benchmark -p "$redis_port" -t get -c 64 -n 300000 -q > "$out/redis-benchmark.txt" 2>&1
cat > "$workdir/login.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$login_body'
LUA
# The login floor (bare argon2id on one worker per CPU) just before and just after the load, so
# that both see the same machine.
target/perf/argon2-floor 5 > "$out/argon2-floor-before.json"
api_cpu2=$(cpu_ms "$api_pid"); redis_cpu2=$(cpu_ms "$redis_pid")
wrk -t2 -c8 -d"${seconds}s" --latency -s "$workdir/login.lua" "$base/login" > "$out/wrk-login.txt"
api_cpu3=$(cpu_ms "$api_pid"); redis_cpu3=$(cpu_ms "$redis_pid")
target/perf/argon2-floor 5 > "$out/argon2-floor-after.json"
rss_after_login_kb=$(awk '/VmHWM/ {print $2}' "/proc/$api_pid/status")
printf '{"start_kb": %s, "after_me_kb": %s, "after_login_kb": %s}\n' \
  "$rss_start_kb" "$rss_after_me_kb" "$rss_after_login_kb" > "$out/rss.json"
printf '{"me": {"local_api_ms": %s, "redis_ms": %s}, "login": {"local_api_ms": %s, "redis_ms": %s}}\n' \
  "$(awk "BEGIN {print $api_cpu1 - $api_cpu0}")" "$(awk "BEGIN {print $redis_cpu1 - $redis_cpu0}")" \
  "$(awk "BEGIN {print $api_cpu3 - $api_cpu2}")" "$(awk "BEGIN {print $redis_cpu3 - $redis_cpu2}")" \
  > "$out/cpu.json"

step "cold starts under AWS's Runtime Interface Emulator (every events/ file, perf builds)"
# The configuration make test's emulator stage uses (passkeys on, the mail path on SQS and SES
# through moto), so that every event answers as events/cases.json expects.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
  AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
PATH="$venv_bin:$PATH" start_private_moto
mail_queue=$(make_mail_queue "$venv_bin/python")
cat > "$workdir/rie.env" <<ENV
REDIS_URL=$redis_url/4
SIGNING_SECRET=bench-signing-key-0123456789abcdef0123
MFA_SECRET=bench-second-factor-key-0123456789abcdef
AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL
AWS_ACCESS_KEY_ID=test
AWS_SECRET_ACCESS_KEY=test
AWS_REGION=us-east-1
AWS_EC2_METADATA_DISABLED=true
PASSKEY_ORIGINS=https://app.example.com
PUBLIC_BASE_URL=https://auth.example.com
MAIL_QUEUE_URL=$mail_queue
MAIL_FROM=no-reply@auth.example.com
RUST_LOG=error
ENV
LAMBDA_TRANSPORT=rie RIE=$(rie_binary "$venv_bin/python") BIN_DIR="$root/target/perf" \
  LAMBDA_ENV_FILE="$workdir/rie.env" RIE_REPORT="$out/rie-init.json" \
  "$venv_bin/python" infra/emulators/lambda_invoke.py > "$out/rie.txt"

step "peers: Passport's authorizer beside Node.js and Python ones under aws-lambda-rie"
if ! command -v node >/dev/null 2>&1; then
  echo "node (20 or later) is needed for the Node.js peer authorizer" >&2
  exit 1
fi
(cd infra/bench/peers/node && npm ci --no-audit --no-fund --loglevel=error)
sed "s|^REDIS_URL=.*|REDIS_URL=$redis_url/5|" "$workdir/rie.env" > "$workdir/peers.env"
# The peers verify HS256 with the secret: so does Passport beside them (its ES256 run sets its own).
echo "SIGNING_ALGORITHM=HS256" >> "$workdir/peers.env"
"$venv_bin/python" infra/bench/peers.py --rie "$(rie_binary "$venv_bin/python")" \
  --bin-dir "$root/target/perf" --env-file "$workdir/peers.env" --python "$venv_bin/python" \
  --out "$out" --warm "${BENCH_PEER_INVOCATIONS:-1000}"

step "report"
"$venv_bin/python" infra/bench/bench_report.py --out "$out" --root "$root"
cat "$out/summary.md"

# Shared by infra/test/test.sh and infra/bench/load.sh: progress lines, system packages, free loopback
# ports, and background services that are stopped (process group and all) on exit.
# Sourced, not run; expects `set -euo pipefail` and the repository root as the working directory.

step() { printf '\n==> %s\n' "$*"; }

ensure_packages() {
  local missing=()
  command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 || missing+=(redis-server)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  [ -z "${NEED_BROWSER:-}" ] || command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  [ -z "${NEED_BROWSER:-}" ] || command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
  [ ${#missing[@]} -eq 0 ] && return
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    step "installing ${missing[*]} (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "missing: ${missing[*]}. Install these packages (Debian/Ubuntu: sudo apt-get install" \
         "${missing[*]}; macOS: brew install redis openssl node chromium) and run again." >&2
    exit 1
  fi
}

# A throwaway CA and a server certificate for localhost, for the TLS (rediss://) tests.
make_certs() { # dir
  local d=$1
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.crt" -days 2 \
    -subj "/CN=passport-test-ca" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout "$d/server.key" -out "$d/server.csr" \
    -subj "/CN=localhost" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$d/ext.cnf"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -out "$d/server.crt" -days 2 -extfile "$d/ext.cnf" 2>/dev/null
}

# Cargo's target directory: `target/` unless CARGO_TARGET_DIR or a cargo config moves it.
cargo_target_dir() {
  cargo metadata --format-version 1 --no-deps --locked |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_port() { # port, what, log
  for _ in $(seq 1 300); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  echo "$2 did not start on port $1:" >&2
  tail -50 "$3" >&2 || true
  exit 1
}

workdir=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$workdir"
}
trap cleanup EXIT INT TERM

# Starts a command in its own process group (so cleanup can stop its children too).
start() { # log, command...
  local log=$1
  shift
  setsid "$@" >"$log" 2>&1 &
  pids+=("$!")
}


# A redis-server without persistence on a free loopback port; sets redis_port and exports
# PASSPORT_TEST_REDIS_URL.
start_private_redis() {
  redis_port=$(free_port)
  step "private redis-server on 127.0.0.1:$redis_port"
  start "$workdir/redis.log" redis-server --port "$redis_port" --bind 127.0.0.1 --save "" \
    --appendonly no --dir "$workdir"
  wait_for_port "$redis_port" redis-server "$workdir/redis.log"
  export PASSPORT_TEST_REDIS_URL="redis://127.0.0.1:$redis_port"
}

# A moto_server (Secrets Manager, SQS, SES) on a free loopback port; sets moto_port and exports
# AWS_ENDPOINT_URL. The caller has set dummy credentials and a region.
start_private_moto() {
  moto_port=$(free_port)
  step "moto_server (local Secrets Manager, SQS, SES) on 127.0.0.1:$moto_port"
  start "$workdir/moto.log" moto_server -H 127.0.0.1 -p "$moto_port"
  wait_for_port "$moto_port" moto_server "$workdir/moto.log"
  export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port"
}

# A real OpenID Provider (panva's oidc-provider, infra/test/oidc-provider.mjs, from web/'s
# packages) on a free loopback port; exports PASSPORT_TEST_OIDC_ISSUER. web/'s npm ci has run.
start_oidc_provider() {
  local port
  port=$(free_port)
  step "OpenID Provider (oidc-provider) on 127.0.0.1:$port"
  start "$workdir/oidc-provider.log" node infra/test/oidc-provider.mjs --port "$port"
  wait_for_port "$port" "the OpenID Provider" "$workdir/oidc-provider.log"
  export PASSPORT_TEST_OIDC_ISSUER="http://127.0.0.1:$port"
}

# The mail path as deployed, on AWS_ENDPOINT_URL: an SES identity (no-reply@auth.example.com)
# and an SQS queue for the routes to fill; prints the queue's URL.
make_mail_queue() { # venv python
  "$1" -c '
import boto3, uuid
boto3.client("sesv2").create_email_identity(EmailIdentity="no-reply@auth.example.com")
print(boto3.client("sqs").create_queue(QueueName="passport-mail-" + uuid.uuid4().hex)["QueueUrl"])'
}

# AWS's Lambda Runtime Interface Emulator for this machine's architecture, from the SAM CLI
# package in .venv (executable bit set: pip does not always keep it).
rie_binary() { # venv python
  local arch
  case "$(uname -m)" in
    x86_64) arch=x86_64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "no aws-lambda-rie for $(uname -m)" >&2; return 1 ;;
  esac
  local path
  path=$("$1" -c 'import pathlib, samcli; print(pathlib.Path(samcli.__file__).parent / "local" / "rapid")')/aws-lambda-rie-$arch
  chmod +x "$path"
  echo "$path"
}

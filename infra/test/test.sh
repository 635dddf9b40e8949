#!/usr/bin/env bash
# Runs every test. What `make test` and CI run.
#
#  1. installs what is missing: redis-server, openssl, chromium (apt-get when root), the
#     Python-packaged tools (moto_server, cfn-lint, sam, cargo-lambda, schemathesis) into .venv
#     via infra/venv.sh, and web/'s npm packages (npm ci, from the committed lockfile);
#  2. starts a private redis-server, a moto_server (local Secrets Manager) and an OpenID Provider
#     (oidc-provider, for sign-in with a provider) on free loopback ports, with dummy AWS
#     credentials so no test can reach AWS or the instance-metadata address;
#  3. lints template.yaml (cfn-lint with the serverless rules, sam validate --lint);
#  4. runs `cargo test --workspace` (extra arguments go to it); starts a local 3-master Redis
#     Cluster and runs the store contract and the end-to-end test on it again, failing on any
#     CROSSSLOT answer, then tears the cluster down;
#     then runs the fuzz targets over their seed corpora; builds web/ and runs its unit tests
#     (Vitest) and browser tests (Playwright driving headless Chromium, screenshots kept in
#     target/web-artifacts); runs Schemathesis against local-api;
#  5. runs the real function binaries under `cargo lambda watch`, then each as `bootstrap` under
#     AWS's Runtime Interface Emulator (from the SAM CLI package), and invokes every events/
#     file through each (infra/emulators/lambda_invoke.py, infra/emulators/rie.py);
#  6. stops everything it started, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

# shellcheck source=infra/lib.sh
source infra/lib.sh

NEED_BROWSER=1 ensure_packages
step "test tools (.venv)"
venv_bin=$(bash infra/venv.sh)
export PATH="$venv_bin:$PATH"

# No test may reach AWS: dummy credentials, a region, no instance metadata, no telemetry.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_SESSION_TOKEN=test
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export SAM_CLI_TELEMETRY=0

start_private_redis

tls_port=$(free_port)
step "private redis-server with TLS on 127.0.0.1:$tls_port (throwaway CA)"
make_certs "$workdir"
start "$workdir/redis-tls.log" redis-server --port 0 --tls-port "$tls_port" --bind 127.0.0.1 \
  --tls-cert-file "$workdir/server.crt" --tls-key-file "$workdir/server.key" \
  --tls-ca-cert-file "$workdir/ca.crt" --tls-auth-clients no --save "" --appendonly no --dir "$workdir"
wait_for_port "$tls_port" "redis-server (TLS)" "$workdir/redis-tls.log"
export PASSPORT_TEST_REDIS_TLS_URL="rediss://localhost:$tls_port"
export PASSPORT_TEST_REDIS_CA="$workdir/ca.crt"

start_private_moto
# The same over HTTPS with the throwaway CA's certificate: the functions' own HTTPS client
# (rustls on ring, roots from the system store, here SSL_CERT_FILE) reaches it.
moto_tls_port=$(free_port)
start "$workdir/moto-tls.log" moto_server -H 127.0.0.1 -p "$moto_tls_port" \
  -c "$workdir/server.crt" -k "$workdir/server.key"
wait_for_port "$moto_tls_port" "moto_server (TLS)" "$workdir/moto-tls.log"
export PASSPORT_TEST_AWS_TLS_ENDPOINT="https://localhost:$moto_tls_port"

step "template.yaml: cfn-lint (with cfn-lint-serverless rules) and sam validate --lint"
cfn-lint --append-rules cfn_lint_serverless.rules -- template.yaml
(cd "$workdir" && sam validate --lint --template-file "$root/template.yaml")

# Before the cargo tests: infra/local-api/tests/jwks.rs verifies tokens with `jose` from here.
step "web client (web/): npm ci"
(cd web && npm ci --no-audit --no-fund --loglevel=error)
start_oidc_provider

step "cargo test --workspace (Redis $PASSPORT_TEST_REDIS_URL, Secrets Manager $AWS_ENDPOINT_URL)"
target_dir=$(cargo_target_dir)
load_report=$target_dir/tmp/load-report.md
rm -f "$load_report"
# The test CA is the only root the tests trust: none of them leaves loopback.
SSL_CERT_FILE="$workdir/ca.crt" cargo test --workspace --locked "$@"
[ -f "$load_report" ] && cat "$load_report"

# The service-level tests sign with HS256 (test_config); run them again with ES256 keys. The
# tests that forge HS256 tokens by hand (jwt_attacks, two of passports) are HS256's alone;
# tests/es256.rs holds ES256's own attacks.
step "service-level tests again, signing with ES256"
cargo test --locked -p passport --features testing-es256 --test flows \
  --test cookie_transport --test store_contract --test store_sessions --test store_features --test login_limits --test expiry --test enumeration \
  --test constant_time --test cache_acl --test security_events --test logs --test store_outage \
  --test passports --test private_passports --test recent_auth --test passkeys --test dbsc \
  --test discovery --test email --test federation \
  -- --skip a_passport_has_its_own_key_and_audience \
  --skip a_visitor_keeps_its_identity_across_expiry_within_the_retention_window

cluster_ports=()
step "local Redis Cluster: 3 masters on loopback"
for i in 1 2 3; do
  p=$(free_port); bus=$(free_port)
  mkdir -p "$workdir/cluster-$i"
  start "$workdir/cluster-$i.log" redis-server --port "$p" --cluster-port "$bus" --bind 127.0.0.1 \
    --cluster-enabled yes --cluster-config-file "$workdir/cluster-$i/nodes.conf" \
    --save "" --appendonly no --dir "$workdir/cluster-$i"
  wait_for_port "$p" "redis-server (cluster node $i)" "$workdir/cluster-$i.log"
  cluster_ports+=("$p")
done
redis-cli --cluster create $(printf '127.0.0.1:%s ' "${cluster_ports[@]}") --cluster-replicas 0 \
  --cluster-yes >"$workdir/cluster-create.log" 2>&1 || { cat "$workdir/cluster-create.log" >&2; exit 1; }
for _ in $(seq 1 100); do
  redis-cli -p "${cluster_ports[0]}" cluster info | grep -q 'cluster_state:ok' && break
  sleep 0.2
done
cluster_urls=$(printf 'redis://127.0.0.1:%s,' "${cluster_ports[@]}")
step "store contract and end-to-end test on the cluster (${cluster_urls%,})"
PASSPORT_TEST_REDIS_URL=${cluster_urls%,} PASSPORT_TEST_REDIS_CLUSTER=true \
  cargo test --locked -p passport --test store_contract --test store_sessions --test store_features --test constant_time --test flows --test login_limits \
    --test expiry --test cookie_transport --test passports --test private_passports --test recent_auth \
    --test passkeys --test dbsc --test email --test compact_records --test second_factor --test history \
    --test federation
PASSPORT_TEST_REDIS_URL=${cluster_urls%,} PASSPORT_TEST_REDIS_CLUSTER=true \
  cargo test --locked -p local-api --test e2e -- full_session_lifecycle_on_redis
for p in "${cluster_ports[@]}"; do
  if redis-cli -p "$p" info errorstats | grep -i crossslot; then
    echo "cluster node $p answered CROSSSLOT: some command spans hash slots" >&2
    exit 1
  fi
done
echo "no CROSSSLOT error on any node"
for p in "${cluster_ports[@]}"; do redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true; done

step "fuzz targets over their seed corpora (regression run; \`make fuzz\` does the fuzzing)"
cargo build --workspace --bins --locked
for t in token_verify http_requests authorizer_event; do
  dirs=("fuzz/corpus/$t")
  [ -d "fuzz/regressions/$t" ] && dirs+=("fuzz/regressions/$t")
  if ! "$target_dir/debug/$t" -runs=0 "${dirs[@]}" >"$workdir/fuzz-$t.log" 2>&1; then
    tail -30 "$workdir/fuzz-$t.log" >&2
    echo "fuzz target $t fails on its corpus" >&2
    exit 1
  fi
  echo "$t: $(grep -E '^Done' "$workdir/fuzz-$t.log")"
done

step "web client (web/): build, unit tests (Vitest)"
(cd web && npm run --silent build && npm test --silent)
step "browser tests: the sessions page in headless Chromium against local-api on Redis"
rm -rf target/web-artifacts
LOCAL_API_BIN="$target_dir/debug/local-api" WEB_ARTIFACTS="$root/target/web-artifacts" \
  npm --prefix web run --silent test:browser
echo "screenshots: target/web-artifacts/"

step "schemathesis: property-based tests of openapi.yaml against local-api on Redis"
api_port=$(free_port)
st_password="schemathesis-$(date +%s)-password"
start "$workdir/api.log" env REDIS_URL="redis://127.0.0.1:$redis_port/2" RUST_LOG=warn \
  LOGIN_MAX_FAILURES=100000 LOGIN_IP_MAX_FAILURES=100000 LOGIN_ACCOUNT_MAX_FAILURES=100000 \
  PASSPORT_IP_MAX_PER_HOUR=100000 \
  "$target_dir/debug/local-api" --port "$api_port" --account "schemathesis@example.com:$st_password" \
  --account "schemathesis-logout@example.com:$st_password"
wait_for_port "$api_port" local-api "$workdir/api.log"
# $1: the account's email (the logout run has its own: the first run may have turned on a
# second factor for its account, by a generated code that happened to match).
login_token() {
  python3 -c '
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/login", method="POST",
    data=json.dumps({"email": sys.argv[3], "password": sys.argv[2]}).encode(),
    headers={"content-type": "application/json"})
print(json.load(urllib.request.urlopen(req))["access_token"])' "http://127.0.0.1:$api_port" "$st_password" "$1"
}
# Every check Schemathesis has, positive_data_acceptance and negative_data_rejection included:
# a schema-valid request the server refuses, or a schema-invalid one it takes, fails the run.
# The seed is fixed so that a run is repeatable (CI must not find a new case by chance and fail
# on it); SCHEMATHESIS_SEED=random, or any other number, explores further.
st_checks=all
st_run() {
  (cd "$workdir" && schemathesis --config-file "$root/infra/test/schemathesis.toml" run "$root/openapi.yaml" --url "http://127.0.0.1:$api_port" \
    --checks "$st_checks" --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-100}" \
    --seed "${SCHEMATHESIS_SEED:-20261129}" \
    --generation-database none --no-color "$@")
}
# Every route but logout with a live session's token; then logout on its own, since it ends the
# session the other routes need.
st_run -H "Authorization: Bearer $(login_token schemathesis@example.com)" --exclude-operation-id logout
st_run -H "Authorization: Bearer $(login_token schemathesis-logout@example.com)" --include-operation-id logout

step "real binaries under cargo lambda watch, every events/ file through cargo lambda invoke"
secret_arn=$("$venv_bin/python" -c '
import boto3, uuid
sm = boto3.client("secretsmanager")
print(sm.create_secret(Name="passport-lambda-" + uuid.uuid4().hex, SecretString="k" * 64)["ARN"])')
# The second factor's key, read from its own secret by login and sessions (MFA_SECRET_ARN).
mfa_secret_arn=$("$venv_bin/python" -c '
import boto3, uuid
sm = boto3.client("secretsmanager")
print(sm.create_secret(Name="passport-mfa-" + uuid.uuid4().hex, SecretString="m" * 64)["ARN"])')
# The mail path as deployed: the routes queue to SQS, the mailer sends as an SES identity.
mail_queue=$(make_mail_queue "$venv_bin/python")
lambda_port=$(free_port)
cat > "$workdir/lambda.env" <<ENV
REDIS_URL=redis://127.0.0.1:$redis_port/1
SIGNING_SECRET_ARN=$secret_arn
MFA_SECRET_ARN=$mfa_secret_arn
AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL
AWS_ACCESS_KEY_ID=test
AWS_SECRET_ACCESS_KEY=test
AWS_SESSION_TOKEN=test
AWS_REGION=us-east-1
AWS_EC2_METADATA_DISABLED=true
PASSKEY_ORIGINS=https://app.example.com
PUBLIC_BASE_URL=https://auth.example.com
MAIL_QUEUE_URL=$mail_queue
MAIL_FROM=no-reply@auth.example.com
RUST_LOG=warn
ENV
start "$workdir/lambda.log" cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$lambda_port" \
  --env-file "$workdir/lambda.env" --ignore-changes
wait_for_port "$lambda_port" "cargo lambda watch" "$workdir/lambda.log"
if ! LAMBDA_PORT=$lambda_port python3 infra/emulators/lambda_invoke.py; then
  echo "--- cargo lambda watch log ---" >&2
  tail -80 "$workdir/lambda.log" >&2
  exit 1
fi

step "real binaries under AWS's Runtime Interface Emulator (aws-lambda-rie from the SAM CLI package)"
# At info, so each function's start says which ES256 backend it got (checked: ring).
sed -e "s|^REDIS_URL=.*|REDIS_URL=redis://127.0.0.1:$redis_port/3|" -e "s|^RUST_LOG=.*|RUST_LOG=info|" \
  "$workdir/lambda.env" > "$workdir/rie.env"
ES256_BACKEND_CHECK=1 LAMBDA_TRANSPORT=rie RIE=$(rie_binary "$venv_bin/python") BIN_DIR="$target_dir/debug" \
  LAMBDA_ENV_FILE="$workdir/rie.env" "$venv_bin/python" infra/emulators/lambda_invoke.py

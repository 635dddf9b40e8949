#!/usr/bin/env bash
# `make sam-local`: README's "SAM locally" recipe, end to end, on a machine whose only network is
# the package registries. Not part of `make test`: a cold arm64 release build takes a quarter of
# an hour on 2 cores.
#
#  1. installs what is missing (apt-get, as root): docker.io, qemu-user-static, binfmt-support,
#     redis-server; starts dockerd if none answers; registers qemu for arm64 binaries;
#  2. the base image SAM looks up for provided.al2023 on arm64: pulled if a registry answers,
#     else built offline FROM scratch out of Debian's arm64 libc6, libgcc-s1 and busybox-static
#     (`docker build --platform linux/arm64`); SAM adds its emulator layer on top itself;
#  3. `sam build` (unchanged, the rust-cargolambda build method);
#  4. a private redis-server on the Docker bridge's gateway (where the functions' containers
#     reach the host), an env.json as README shows, the first account through
#     `sam local invoke AccountsFunction`, the mailer through `sam local invoke MailerFunction`
#     with events/mailer-send.json (SES on a moto_server on the bridge), then
#     `sam local start-api`;
#  5. the flow through it: login, /me through the Lambda authorizer, a denied token (403),
#     refresh, logout, and the logged-out token denied;
#  6. stops what it started and prints each step's time and the bootstraps' sizes.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
# shellcheck source=infra/lib.sh
source infra/lib.sh

times=()
timed() { # name command...
  local name=$1 started
  shift
  started=$(date +%s)
  "$@"
  times+=("$name: $(($(date +%s) - started)) s")
}

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
[ -x /usr/bin/qemu-aarch64-static ] || need+=(qemu-user-static)
command -v update-binfmts >/dev/null 2>&1 || need+=(binfmt-support)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
if [ ${#need[@]} -gt 0 ]; then
  step "installing ${need[*]} (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
venv_bin=$(bash infra/venv.sh)
export PATH="$venv_bin:$PATH" SAM_CLI_TELEMETRY=0

if ! docker info >/dev/null 2>&1; then
  step "starting dockerd"
  start "$workdir/dockerd.log" dockerd ${DOCKERD_ARGS:---iptables=false --storage-driver=vfs}
  for _ in $(seq 1 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
  docker info >/dev/null
fi
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || { echo "qemu-aarch64 is not registered with binfmt_misc" >&2; exit 1; }

base=public.ecr.aws/lambda/provided:al2023-arm64
base_image() {
  docker image inspect "$base" >/dev/null 2>&1 && return
  if timeout 60 docker pull --platform linux/arm64 "$base" >/dev/null 2>&1; then return; fi
  step "no registry: building $base offline from Debian's arm64 packages"
  local d=$workdir/base
  mkdir -p "$d/debs" "$d/rootfs"
  dpkg --print-foreign-architectures | grep -qx arm64 || { dpkg --add-architecture arm64; apt-get update -qq; }
  (cd "$d/debs" && apt-get download -qq libc6:arm64 libgcc-s1:arm64 busybox-static:arm64)
  for deb in "$d"/debs/*.deb; do dpkg-deb -x "$deb" "$d/rootfs"; done
  mkdir -p "$d/rootfs/var/task" "$d/rootfs/var/runtime" "$d/rootfs/opt" "$d/rootfs/tmp"
  cat > "$d/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ENV PATH=/var/lang/bin:/usr/local/bin:/usr/bin:/bin:/opt/bin LANG=en_US.UTF-8 TZ=:/etc/localtime \
    LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime
WORKDIR /var/task
DOCKERFILE
  docker build --platform linux/arm64 -q -t "$base" "$d" >/dev/null
}
step "base image $base"
timed "base image" base_image

step "sam build"
timed "sam build" sam build --template-file template.yaml

# The bridge's gateway: in the network's IPAM config where Docker records it, else docker0's
# own address (older daemons leave the field empty).
gateway=$(docker network inspect bridge -f '{{range .IPAM.Config}}{{.Gateway}}{{end}}')
if [ -z "$gateway" ]; then
  gateway=$(ip -4 -o addr show docker0 | awk '{split($4, a, "/"); print a[1]; exit}')
fi
[ -n "$gateway" ] || { echo "cannot find the Docker bridge's gateway address" >&2; exit 1; }
redis_port=$(free_port)
step "private redis-server on the Docker bridge gateway $gateway:$redis_port"
start "$workdir/redis.log" redis-server --port "$redis_port" --bind "$gateway" --save "" \
  --appendonly no --protected-mode no
for _ in $(seq 1 100); do redis-cli -h "$gateway" -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
"$venv_bin/python" - "$gateway" "$redis_port" > "$workdir/env.json" <<'PY'
import json, sys
gateway, port = sys.argv[1], sys.argv[2]
settings = {"REDIS_URL": f"redis://{gateway}:{port}", "REDIS_CLUSTER": "false",
            "REDIS_AUTH_SECRET_ARN": "", "SIGNING_SECRET_ARN": "",
            "SIGNING_SECRET": "sam-local-signing-key-0123456789abcdef",
            "MFA_SECRET_ARN": "", "MFA_SECRET": "sam-local-second-factor-key-0123456789"}
functions = ["LoginFunction", "RefreshFunction", "LogoutFunction", "SessionsFunction",
             "AuthorizerFunction", "AccountsFunction"]
print(json.dumps({f: settings for f in functions}, indent=2))
PY

step "the first account through sam local invoke AccountsFunction"
timed "sam local invoke" sam local invoke AccountsFunction --skip-pull-image \
  --env-vars "$workdir/env.json" -e events/accounts-create.json > "$workdir/invoke.json"
cat "$workdir/invoke.json"
grep -q '"ok": *true\|"account_exists"' "$workdir/invoke.json"

step "the mailer through sam local invoke MailerFunction (SES on moto_server)"
moto_port=$(free_port)
start "$workdir/moto.log" "$venv_bin/moto_server" -H "$gateway" -p "$moto_port"
for _ in $(seq 1 100); do
  python3 -c "import socket; socket.create_connection(('$gateway', $moto_port), 0.2)" 2>/dev/null && break
  sleep 0.2
done
AWS_ENDPOINT_URL="http://$gateway:$moto_port" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
  AWS_REGION=us-east-1 "$venv_bin/python" -c '
import boto3
boto3.client("sesv2").create_email_identity(EmailIdentity="no-reply@example.com")'
"$venv_bin/python" - "$workdir/env.json" "http://$gateway:$moto_port" <<'PY'
import json, sys
path, endpoint = sys.argv[1], sys.argv[2]
env = json.load(open(path))
env["MailerFunction"] = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test",
                         "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "test",
                         "AWS_REGION": "us-east-1", "MAIL_FROM": "no-reply@example.com"}
json.dump(env, open(path, "w"), indent=2)
PY
timed "sam local invoke mailer" sam local invoke MailerFunction --skip-pull-image \
  --parameter-overrides MailFrom=no-reply@example.com MailIdentity=example.com \
  --env-vars "$workdir/env.json" -e events/mailer-send.json > "$workdir/mailer.json"
cat "$workdir/mailer.json"
grep -q '"batchItemFailures": *\[\]' "$workdir/mailer.json"

api_port=$(free_port)
step "sam local start-api on 127.0.0.1:$api_port"
start "$workdir/start-api.log" sam local start-api --skip-pull-image --env-vars "$workdir/env.json" \
  --host 127.0.0.1 --port "$api_port"
started=$(date +%s)
wait_for_port "$api_port" "sam local start-api" "$workdir/start-api.log"
times+=("start-api up: $(($(date +%s) - started)) s")

step "the flow through API Gateway's emulation and the Lambda authorizer"
started=$(date +%s)
if ! "$venv_bin/python" infra/emulators/sam_local_flow.py "http://127.0.0.1:$api_port"; then
  tail -60 "$workdir/start-api.log" >&2
  exit 1
fi
times+=("flow: $(($(date +%s) - started)) s")

step "times and sizes"
printf '%s\n' "${times[@]}"
for f in .aws-sam/build/*/bootstrap; do
  printf '%s: %s bytes\n' "$f" "$(stat -c %s "$f")"
done

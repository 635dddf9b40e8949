#!/usr/bin/env bash
# Runs every test of the workspace against a private redis-server.
#
# Installs redis-server where it is missing (apt-get when root), starts one on a free loopback
# port with no persistence, runs `cargo test --workspace` with PASSPORT_TEST_REDIS_URL pointing
# at it, and stops it whatever happens. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

ensure_redis() {
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    return
  fi
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    step "installing redis-server (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  else
    echo "redis-server is missing. Install the package 'redis-server' (Debian/Ubuntu:" \
         "sudo apt-get install redis-server; macOS: brew install redis) and run again." >&2
    exit 1
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

ensure_redis
workdir=$(mktemp -d)
redis_pid=""
cleanup() {
  if [ -n "$redis_pid" ]; then
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
  rm -rf "$workdir"
}
trap cleanup EXIT INT TERM

port=$(free_port)
step "starting a private redis-server on 127.0.0.1:$port"
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$workdir" --logfile "$workdir/redis.log" &
redis_pid=$!
for _ in $(seq 1 100); do
  if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then break; fi
  sleep 0.1
done
redis-cli -p "$port" ping | grep -q PONG || { echo "redis-server did not start:"; cat "$workdir/redis.log"; exit 1; }

export PASSPORT_TEST_REDIS_URL="redis://127.0.0.1:$port"
step "cargo test --workspace (Redis: $PASSPORT_TEST_REDIS_URL)"
cargo test --workspace --locked "$@"

#!/usr/bin/env bash
# `make load`: the load test of local-api on a private redis-server, bigger than in `make test`.
# LOAD_CLIENTS (default 200), LOAD_ROUNDS (default 50), LOAD_ACCOUNTS (default a third of the
# clients) and LOAD_IDLE_TTL (session idle lifetime, default 20 s) size it; the report is printed and kept in target/tmp/load-report.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=infra/lib.sh
source infra/lib.sh

ensure_packages
start_private_redis
export LOAD_CLIENTS=${LOAD_CLIENTS:-200} LOAD_ROUNDS=${LOAD_ROUNDS:-50}
# Sessions must outlive the slowest client's gap between refreshes (logins queue on argon2).
export LOAD_IDLE_TTL=${LOAD_IDLE_TTL:-20}

step "load: $LOAD_CLIENTS clients × $LOAD_ROUNDS rounds (me, refresh), with reuse and expiry checks"
cargo test --locked -p local-api --test load -- --nocapture

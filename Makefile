# The project's commands. `make test` is the one CI runs (.ci/run).
.PHONY: test run lint fmt fuzz load bench sam-local oidc-provider

## Every test: installs and starts a private redis-server, runs the whole workspace's tests.
test:
	bash infra/test/test.sh

## The API on 127.0.0.1:3000 with the embedded store and a demo account.
run:
	cargo run -p local-api

## A local OpenID Provider on 127.0.0.1:9400 with a client for `local-api` on port 3000, to try
## "Sign in with …" (README): `cargo run -p local-api -- --oidc test,http://127.0.0.1:9400,local,local-secret`.
oidc-provider:
	[ -d web/node_modules/oidc-provider ] || (cd web && npm ci --no-audit --no-fund --loglevel=error)
	node infra/test/oidc-provider.mjs --port 9400 \
	  --client local:local-secret:http://127.0.0.1:3000/oauth/test/callback

## Formatting and lints, as CI wants them.
lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

fmt:
	cargo fmt --all

## Every fuzz target for FUZZ_SECONDS (default 60) each, with libFuzzer on nightly.
fuzz:
	bash infra/test/fuzz.sh

## The load test with invariants, bigger than in `make test` (LOAD_CLIENTS, LOAD_ROUNDS).
load:
	bash infra/bench/load.sh

## Benchmarks beside their baselines: target/bench/results.json and summary.md.
bench:
	bash infra/bench/bench.sh

## README's "SAM locally" recipe end to end: Docker, qemu, an offline base image, sam build,
## sam local invoke and start-api with a private Redis, and the session flow (slow: not in test).
sam-local:
	bash infra/emulators/sam-local.sh

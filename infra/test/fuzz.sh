#!/usr/bin/env bash
# `make fuzz`: runs every cargo-fuzz target for FUZZ_SECONDS (default 60) each, with libFuzzer.
# On nightly (where installed) it adds AddressSanitizer; on stable (CI's machine has no other
# toolchain) it fuzzes with coverage but no sanitizer, which for this `unsafe`-free code still
# catches every panic, overflow and hang. FUZZ_TOOLCHAIN=stable|nightly forces one. cargo-fuzz
# is installed where missing. The committed seeds in
# fuzz/corpus/<target> are copied to target/fuzz-corpus/<target>, which grows as it runs; a crash
# lands in fuzz/artifacts/<target> (then: add it to fuzz/regressions/<target> and fix the code).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-"token_verify http_requests authorizer_event"}

# The workspace's release profile (LTO, one codegen unit, strip, panic=abort) is for Lambda;
# libFuzzer's coverage instrumentation wants none of that.
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
export CARGO_PROFILE_RELEASE_STRIP=false CARGO_PROFILE_RELEASE_PANIC=unwind

toolchain=${FUZZ_TOOLCHAIN:-}
if [ -z "$toolchain" ]; then
  if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then toolchain=nightly; else toolchain=stable; fi
fi
if [ "$toolchain" = nightly ]; then sanitizer=address; else sanitizer=none; fi
command -v cargo-fuzz >/dev/null 2>&1 || {
  echo "==> installing cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet
}
echo "==> building the fuzz targets on $toolchain (sanitizer: $sanitizer)"
cargo "+$toolchain" fuzz build --fuzz-dir fuzz -s "$sanitizer"

for t in $targets; do
  mkdir -p "target/fuzz-corpus/$t"
  cp -n fuzz/corpus/"$t"/* "target/fuzz-corpus/$t/" 2>/dev/null || true
  printf '\n==> fuzzing %s for %ss\n' "$t" "$seconds"
  log="target/fuzz-corpus/$t.log"
  status=0
  cargo "+$toolchain" fuzz run --fuzz-dir fuzz -s "$sanitizer" "$t" "target/fuzz-corpus/$t" -- \
    -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E 'stat::(number_of_executed_units|new_units_added|peak_rss_mb)|ERROR|SUMMARY|panicked' "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -40 "$log" >&2
    echo "fuzz target $t failed; crash inputs are in fuzz/artifacts/$t" >&2
    exit 1
  fi
done

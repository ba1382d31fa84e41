#!/usr/bin/env bash
# Runs every libFuzzer target (one per parser: safetensors, pickle, .pth, PNG, BMP) for a bounded time with the seed
# corpus under Tests/Fuzz/Corpus/<target> and a fixed libFuzzer seed, under AddressSanitizer + LeakSanitizer.
#   FUZZ_SECONDS  seconds per target (default 20)          FUZZ_SEED     libFuzzer -seed (default 1)
#   FUZZ_SCRATCH  SwiftPM scratch path (default .build-fuzz)
# Prints executions and executions/second per target. A finding (crash, leak, timeout, out-of-memory) fails the script;
# its input is kept under Tests/Fuzz/Crashes/<target>-… (turn it into a regression fixture in Tests/IOTests/Fixtures).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${FUZZ_SECONDS:-20}"; seed="${FUZZ_SEED:-1}"; scratch="${FUZZ_SCRATCH:-.build-fuzz}"
make -s deps   # GSL, libpng, zlib, pkg-config: the system packages the harmoq package needs
build() { swift build -c release --package-path Tests/Fuzz --scratch-path "$scratch" \
            -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library "$@"; }
t0=$(date +%s)
build >&2 || { echo "fuzz: build failed (needs the Swift toolchain's libclang_rt.fuzzer, shipped with swift.org toolchains)" >&2; exit 1; }
bin="$(build --show-bin-path)"
echo "fuzz: build $(( $(date +%s) - t0 )) s; ${secs} s per target, seed ${seed}" >&2
mkdir -p Tests/Fuzz/Crashes
status=0
for dir in Tests/Fuzz/Corpus/*/; do
  t="$(basename "$dir")"
  [ -x "$bin/$t" ] || { echo "fuzz $t: no binary" >&2; status=1; continue; }
  work="$(mktemp -d)"; cp "$dir"/* "$work"/ 2>/dev/null || true
  log="$(mktemp)"
  if "$bin/$t" -seed="$seed" -max_total_time="$secs" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 \
       -print_final_stats=1 -artifact_prefix="Tests/Fuzz/Crashes/$t-" "$work" >"$log" 2>&1; then
    n="$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)"
    s="$(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1 | awk '{print $5}')"
    rate="$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -1)"
    cov="$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')"
    echo "fuzz $t: ${n:-?} executions in ${s:-?} s (${rate:-?} exec/s), coverage ${cov:-?} edges, corpus $(ls "$work" | wc -l) inputs, no finding"
  else
    echo "fuzz $t: FINDING — input kept as: $(ls Tests/Fuzz/Crashes/ | grep "^$t-" | tr '\n' ' ')"; tail -40 "$log"; status=1
  fi
  rm -rf "$work" "$log"
done
exit $status

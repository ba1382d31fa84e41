#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time (default 30 s each; FUZZ_SECONDS=N to change) with the
# seed corpus under Tests/Fuzz/Corpus/<target> and a fixed libFuzzer seed (FUZZ_SEED, default 1). Any crash input is kept under Tests/Fuzz/Crashes/ and the
# script exits non-zero. Prints executions and executions/second per target.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${FUZZ_SECONDS:-30}"
swift build -c release --package-path Tests/Fuzz --scratch-path .build-fuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library >&2
bin="$(swift build -c release --package-path Tests/Fuzz --scratch-path .build-fuzz --show-bin-path)"
status=0
for dir in Tests/Fuzz/Corpus/*/; do
  t="$(basename "$dir")"
  [ -x "$bin/$t" ] || { echo "fuzz: no binary for $t" >&2; status=1; continue; }
  work="$(mktemp -d)"; cp "$dir"/* "$work"/ 2>/dev/null || true
  mkdir -p Tests/Fuzz/Crashes
  log="$(mktemp)"
  if "$bin/$t" -seed="${FUZZ_SEED:-1}" -max_total_time="$secs" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 \
       -artifact_prefix="Tests/Fuzz/Crashes/$t-" "$work" >"$log" 2>&1; then
    runs="$(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1)"
    n="$(echo "$runs" | awk '{print $2}')"; s="$(echo "$runs" | awk '{print $5}')"
    echo "fuzz $t: ${n:-?} executions in ${s:-?} s ($(( ${n:-0} / (${s:-1} > 0 ? ${s:-1} : 1) )) exec/s), no crash"
  else
    echo "fuzz $t: FAILED — see crash inputs under Tests/Fuzz/Crashes/"; tail -30 "$log"; status=1
  fi
  rm -rf "$work" "$log"
done
exit $status

#!/usr/bin/env bash
# Runs the unit tests under AddressSanitizer and ThreadSanitizer (separate scratch folders, so the normal
# build is untouched). Usage: ci/sanitizers.sh [address|thread|both] [swift-test filter]
# Slow: each sanitizer build takes several minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
which="${1:-both}"; filter="${2:-}"
run() {
  local san="$1"
  echo "== swift test --sanitize=$san ${filter:+--filter $filter}" >&2
  swift test --disable-xctest --sanitize="$san" --scratch-path ".build-$san" ${filter:+--filter "$filter"}
}
case "$which" in
  address) run address ;;
  thread) run thread ;;
  both) run address; run thread ;;
  *) echo "usage: $0 [address|thread|both] [filter]" >&2; exit 2 ;;
esac

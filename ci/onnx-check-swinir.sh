#!/usr/bin/env bash
# Whole-model SwinIR-light x2 ONNX check (issue #14 item 3; docs/onnx.md "SwinIR-light"), called by ci/onnx-check.sh:
#   1. `harmoq export-onnx --whole-model` of SwinIR-light x2 (the seeded stress weights of ../shared/models) FP32 with
#      Set5 x2 as the check set: one graph per LR size (reflect padding to a multiple of 8 and the crop in the graph);
#   2. ci/onnx-model-check.py: onnx.checker (full_check) on every graph, onnxruntime (CPU, optimizations off) on every
#      image; PSNR-Y vs harmoq's own output (FP32 / fake quantization) and the number of differing uint8 pixels
#      -> ci-artifacts/onnx-swinir-model-report.{json,md}. Gates as for DAT-light (FP32: per image and the mean within
#      0.01 dB; the differing pixels are reported).
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
mkdir -p "$S"
echo "onnx-check: SwinIR-light x2 whole-model FP32 export + onnxruntime on $SET5 x2"
"$B" export-onnx --whole-model --model "$MODEL" --out "$S/whole-fp32" --check-set "$SET5" 2> "$S/whole-fp32.log" \
  || { tail -20 "$S/whole-fp32.log"; exit 1; }
"$VENV/bin/python" ci/onnx-model-check.py --export "$S/whole-fp32" \
  --report "$ART/onnx-swinir-model-report.json" --markdown "$ART/onnx-swinir-model-report.md"

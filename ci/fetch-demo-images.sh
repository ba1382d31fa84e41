#!/usr/bin/env bash
# Fetches calibration images for a fresh clone the way a user would: the public-domain / CC0 sample
# images that ship inside the scikit-image wheel on PyPI (astronaut: NASA, public domain; chelsea and
# coffee: CC0, per skimage.data's docstrings). They are NOT a test set, so calibrating on them is
# legitimate; the benchmark sets (Set5/Set14) are only ever used for evaluation.
# Output: .cache/calib-images/{astronaut,chelsea,coffee}.png (sha256-checked). Idempotent.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/.cache/calib-images"
declare -A sums=(
  [astronaut.png]=88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5
  [chelsea.png]=596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb
  [coffee.png]=cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7
)
ok=1
for f in "${!sums[@]}"; do
  [ -f "$out/$f" ] && echo "${sums[$f]}  $out/$f" | sha256sum -c --quiet - 2>/dev/null || ok=0
done
if [ "$ok" = 1 ]; then echo "calibration images present in $out"; exit 0; fi
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
echo "fetching scikit-image==0.26.0 wheel (sample images only) from PyPI ..." >&2
python3 -m pip download --quiet --no-deps --only-binary=:all: scikit-image==0.26.0 -d "$tmp" >&2
whl="$(ls "$tmp"/scikit_image-*.whl | head -n1)"
mkdir -p "$out"
for f in "${!sums[@]}"; do
  python3 - "$whl" "skimage/data/$f" "$out/$f" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[3], "wb") as o:
    o.write(z.read(sys.argv[2]))
PY
  echo "${sums[$f]}  $out/$f" | sha256sum -c --quiet -
done
echo "calibration images written to $out"

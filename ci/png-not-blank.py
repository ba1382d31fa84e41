#!/usr/bin/env python3
"""Exit 0 when a PNG (8-bit RGB/RGBA/grey, non-interlaced, as Chromium writes screenshots) is not blank:
at least 1% of its pixels differ from the most common colour and it has at least 16 distinct colours.
Standard library only (zlib + the PNG filters), so CI needs no imaging package."""
import struct
import sys
import zlib
from collections import Counter


def pixels(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    if depth != 8 or interlace != 0 or ctype not in (0, 2, 4, 6):
        raise ValueError(f"unsupported PNG (depth {depth}, colour type {ctype}, interlace {interlace})")
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
    raw, stride = zlib.decompress(idat), w * bpp
    prev, rows = bytearray(stride), []
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def main():
    path = sys.argv[1]
    try:
        w, h, bpp, rows = pixels(path)
    except (OSError, ValueError, zlib.error, TypeError) as e:
        print(f"png-not-blank: {path}: {e}", file=sys.stderr)
        return 1
    counts = Counter(r[i:i + bpp] for r in rows[::2] for i in range(0, len(r), 2 * bpp))
    total = sum(counts.values())
    common = counts.most_common(1)[0][1]
    other = 1 - common / total
    print(f"png-not-blank: {path}: {w}x{h}, {len(counts)} colours in a 1/4 sample, {100 * other:.1f}% differ from the most common",
          file=sys.stderr)
    return 0 if other >= 0.01 and len(counts) >= 16 else 1


if __name__ == "__main__":
    sys.exit(main())

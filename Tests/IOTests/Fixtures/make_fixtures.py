#!/usr/bin/env python3
"""Regenerates the small hostile/valid fixture files in this folder (python3 stdlib only; no torch).
Run: python3 Tests/IOTests/Fixtures/make_fixtures.py   (from the repository root)

PyTorch-style zips are assembled by hand: the pickles are written opcode by opcode exactly as
torch.save (protocol 2) writes a state dict, so no untrusted code is ever needed to make them."""
import os, struct, zipfile, zlib

HERE = os.path.dirname(os.path.abspath(__file__))

def u(s):  # BINUNICODE
    b = s.encode(); return b"X" + struct.pack("<I", len(b)) + b

def i(n):  # BININT / BININT1
    return b"K" + bytes([n]) if 0 <= n < 256 else b"J" + struct.pack("<i", n)

def tensor(storage_type, key, numel, offset, size, stride):
    p = b"ctorch._utils\n_rebuild_tensor_v2\n("
    p += b"(" + u("storage") + b"ctorch\n" + storage_type.encode() + b"\n" + u(key) + u("cpu") + i(numel) + b"tQ"
    p += i(offset) + b"(" + b"".join(i(s) for s in size) + b"t(" + b"".join(i(s) for s in stride) + b"t"
    p += b"\x89" + b"ccollections\nOrderedDict\n)R" + b"tR"
    return p

def state_dict_pickle(entries, wrap="params"):
    p = b"\x80\x02}(" + u(wrap) + b"ccollections\nOrderedDict\n)R("
    for name, t in entries: p += u(name) + t
    p += b"u" + b"}b"  # SETITEMS, then BUILD with an empty _metadata dict as torch does
    p += b"u."
    return p

def write_zip(path, members, compress=()):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members:
            z.writestr(zipfile.ZipInfo(name), data,
                       compress_type=zipfile.ZIP_DEFLATED if name in compress else zipfile.ZIP_STORED)

def f32(vals): return struct.pack("<%df" % len(vals), *vals)
def i64(vals): return struct.pack("<%dq" % len(vals), *vals)

# tiny.pth: 'module.w' is a transposed (non-contiguous) 2x3 view of a 6-float storage, 'b' a 3-float
# slice at offset 1 of a shared 4-float storage, 'idx' an int64 2x2, 'n' an int64 scalar.
pkl = state_dict_pickle([
    ("module.w", tensor("FloatStorage", "0", 6, 0, [2, 3], [1, 2])),
    ("b", tensor("FloatStorage", "1", 4, 1, [3], [1])),
    ("idx", tensor("LongStorage", "2", 4, 0, [2, 2], [2, 1])),
    ("n", tensor("LongStorage", "3", 1, 0, [], [])),
])
members = [("tiny/data.pkl", pkl), ("tiny/byteorder", b"little"),
           ("tiny/data/0", f32([0, 1, 2, 3, 4, 5])), ("tiny/data/1", f32([9, -1.5, 2.25, 7])),
           ("tiny/data/2", i64([224, -3, 0, 945])), ("tiny/data/3", i64([500000])), ("tiny/version", b"3\n")]
write_zip(os.path.join(HERE, "tiny.pth"), members, compress={"tiny/data.pkl", "tiny/data/0"})

# missing-storage.pth: same pickle, storage '1' left out.
write_zip(os.path.join(HERE, "missing-storage.pth"), [m for m in members if m[0] != "tiny/data/1"])

# truncated.pth: the first 60% of tiny.pth.
full = open(os.path.join(HERE, "tiny.pth"), "rb").read()
open(os.path.join(HERE, "truncated.pth"), "wb").write(full[: len(full) * 6 // 10])

# malicious.pth: data.pkl calls os.system('echo pwned > /tmp/harmoq-pwned') via GLOBAL + REDUCE.
evil = b"\x80\x02cos\nsystem\n" + u("echo pwned > /tmp/harmoq-pwned") + b"\x85R."
write_zip(os.path.join(HERE, "malicious.pth"), [("evil/data.pkl", evil), ("evil/version", b"3\n")])
# malicious-stack-global.pkl: builtins.eval through STACK_GLOBAL (protocol 4 style), a raw pickle.
open(os.path.join(HERE, "malicious-stack-global.pkl"), "wb").write(
    b"\x80\x04" + u("builtins") + u("eval") + b"\x93" + u("1+1") + b"\x85R.")

# bomb.pth: a deflated member of 4 MiB of zeros whose headers declare 1000 bytes.
data = bytes(4 << 20)
comp = zlib.compressobj(9, zlib.DEFLATED, -15); raw = comp.compress(data) + comp.flush()
name = b"bomb/data.pkl"
crc = zlib.crc32(data)
local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(raw), 1000, len(name), 0) + name
cd = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(raw), 1000, len(name), 0, 0, 0, 0, 0, 0) + name
eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(cd), len(local) + len(raw), 0)
open(os.path.join(HERE, "bomb.pth"), "wb").write(local + raw + cd + eocd)

# PNGs written chunk by chunk.
def chunk(t, d, bad_crc=False):
    c = zlib.crc32(t + d) ^ (1 if bad_crc else 0)
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", c)

def png(w, h, depth, ctype, rows, extra=b"", bad_crc=False):
    ihdr = struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0)
    idat = zlib.compress(b"".join(b"\x00" + r for r in rows))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", idat, bad_crc) + chunk(b"IEND", b"")

rows = [b"".join(bytes([10 * x + y, 100 + x, 200 - y]) for x in range(3)) for y in range(2)]
good = png(3, 2, 8, 2, rows)
open(os.path.join(HERE, "rgb-3x2.png"), "wb").write(good)
open(os.path.join(HERE, "truncated.png"), "wb").write(good[: len(good) - 20])
open(os.path.join(HERE, "crc-error.png"), "wb").write(png(3, 2, 8, 2, rows, bad_crc=True))
# huge: IHDR declares 1,000,000 x 1,000,000 (valid CRC), tiny IDAT.
open(os.path.join(HERE, "huge-dimensions.png"), "wb").write(png(1000000, 1000000, 8, 0, [b"\x00"]))
# 16-bit RGB: samples 0x1234 etc. -> high bytes.
rows16 = [b"".join(struct.pack(">HHH", 0x1234 + x, 0xABCD, 0x00FF) for x in range(2)) for y in range(2)]
open(os.path.join(HERE, "rgb16-2x2.png"), "wb").write(png(2, 2, 16, 2, rows16))
# palette 8-bit with 3 entries and a tRNS chunk.
plte = chunk(b"PLTE", bytes([255, 0, 0, 0, 255, 0, 1, 2, 3])) + chunk(b"tRNS", bytes([0, 128, 255]))
open(os.path.join(HERE, "palette-3x1.png"), "wb").write(png(3, 1, 8, 3, [bytes([0, 1, 2])], extra=plte))
# gray+alpha 8-bit.
open(os.path.join(HERE, "gray-alpha-2x1.png"), "wb").write(png(2, 1, 8, 4, [bytes([7, 0, 250, 255])]))
# BMP truncated: header of a 4x4 24-bit image with only 10 bytes of pixels.
bmp = b"BM" + struct.pack("<IHHI", 54 + 64, 0, 0, 54) + struct.pack("<IiiHHIIiiII", 40, 4, 4, 1, 24, 0, 64, 0, 0, 0, 0)
open(os.path.join(HERE, "truncated.bmp"), "wb").write(bmp + bytes(10))
print("fixtures written to", HERE)

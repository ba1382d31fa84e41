#!/usr/bin/env python3
"""Run the whole-model graphs written by `harmoq export-onnx --whole-model --check-set SET` in onnxruntime and compare
with harmoq's own outputs (docs/onnx.md, "Whole model").

For every export folder (DIR/index.json, format harmoq-onnx-model/1):
  * every graph must pass `onnx.checker.check_model(full_check=True)`;
  * onnxruntime (CPU, 2 threads, graph optimizations OFF = ORT_DISABLE_ALL: every node runs as written) runs each image;
  * per image: max |y_ort − y_harmoq| over the float outputs; the output as uint8 (clamp to [0, 1], x255, round, as the
    evaluation protocol does): how many pixels (and channel values) differ from harmoq's uint8 output; PSNR-Y
    (BT.601 Y, border = scale, SwinIR/BasicSR's formula) of both against the HR;
  * the check fails when the set's mean PSNR-Y differs from harmoq's by more than --psnr-tolerance dB (default 0.01,
    the bound of issue #14 on the Set5 PSNR), for an FP32 export also when one image's does, or when this script's
    PSNR-Y of harmoq's output differs from the PSNR-Y harmoq itself computed (index.json) by more than 1e-6 dB (the two
    PSNR implementations must agree). Per-image differences of a QDQ export are reported, not gated: code flips after
    ulp-level float differences move a single image's PSNR by up to ~0.02 dB at W8A8 (docs/onnx.md); the set mean of an
    export named by --report-only is reported, not gated (W4A4 plans: the code-flip gap, docs/onnx.md);
  * informative: the first image again with onnxruntime's default optimizations (ORT_ENABLE_ALL).
Writes REPORT (JSON) and MARKDOWN; exit status 1 on any failure.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort


def psnr_y(u8, hr, border):
    def y(img):
        f = img.astype(np.float32) / np.float32(255)
        return (f @ np.array([65.481, 128.553, 24.966], dtype=np.float32) + np.float32(16)) / np.float32(255) * 255
    a = y(u8)[border:-border, border:-border].astype(np.float64)
    b = y(hr)[border:-border, border:-border].astype(np.float64)
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else float(20 * np.log10(255.0 / np.sqrt(mse)))


def to_u8(y):
    """(1, 3, H, W) float → H×W×3 uint8, as the protocol (and harmoq's RGBImage) converts."""
    return np.round(np.clip(y[0].transpose(1, 2, 0), 0, 1) * 255).astype(np.uint8)


def session(path, level, threads):
    so = ort.SessionOptions()
    so.graph_optimization_level = level
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(path, sess_options=so, providers=["CPUExecutionProvider"])


def check(dir_, tol, threads, gated=True):
    idx = json.load(open(os.path.join(dir_, "index.json")))
    s = idx["scale"]
    label = f"{idx.get('architecture', 'DAT-light')} x{s} " + ("QDQ " + idx["bits"] + " (" + idx["method"] + ")" if idx.get("quant") else "FP32")
    out = {"export": dir_, "label": label, "gated": gated, "graphs": [], "images": [], "failures": []}
    sessions = {}
    for g in idx["graphs"]:
        path = os.path.join(dir_, g["file"])
        t0 = time.time()
        onnx.checker.check_model(path, full_check=True)
        out["graphs"].append({"file": g["file"], "nodes": g["nodes"], "bytes": g["bytes"], "checker": "ok",
                              "checker_s": round(time.time() - t0, 1)})
    for im in idx["images"]:
        h, w = im["height"], im["width"]
        x = np.fromfile(os.path.join(dir_, im["input"]), dtype="<f4").reshape(1, 3, h, w)
        yh = np.fromfile(os.path.join(dir_, im["output"]), dtype="<f4").reshape(1, 3, h * s, w * s)
        hr = np.fromfile(os.path.join(dir_, im["hr"]), dtype=np.uint8).reshape(h * s, w * s, 3)
        if im["graph"] not in sessions:
            sessions[im["graph"]] = session(os.path.join(dir_, im["graph"]), ort.GraphOptimizationLevel.ORT_DISABLE_ALL, threads)
        t0 = time.time()
        yo = sessions[im["graph"]].run(None, {idx["input"]: x})[0]
        dt = time.time() - t0
        uh, uo = to_u8(yh), to_u8(yo)
        diff = uh != uo
        ph, po = psnr_y(uh, hr, s), psnr_y(uo, hr, s)
        r = {"name": im["name"], "size": f"{h}x{w}", "ort_seconds": round(dt, 2),
             "max_abs_diff": float(np.max(np.abs(yo.astype(np.float64) - yh))),
             "differing_pixels": int(diff.any(axis=2).sum()), "pixels": h * s * w * s,
             "differing_values": int(diff.sum()), "max_u8_step": int(np.max(np.abs(uh.astype(int) - uo.astype(int)))),
             "psnr_harmoq": ph, "psnr_harmoq_reported": im["harmoqPSNRY"], "psnr_ort": po, "psnr_delta": po - ph}
        out["images"].append(r)
        if abs(ph - im["harmoqPSNRY"]) > 1e-6:
            out["failures"].append(f"{im['name']}: this script's PSNR-Y of harmoq's output {ph:.6f} != harmoq's {im['harmoqPSNRY']:.6f}")
        if abs(po - ph) > tol and not idx.get("quant"):
            out["failures"].append(f"{im['name']}: onnxruntime PSNR-Y {po:.4f} vs harmoq {ph:.4f} (|Δ| > {tol} dB)")
        print(f"onnx-model-check [{label}] {im['name']} {h}x{w}: max|Δ| {r['max_abs_diff']:.3g}, "
              f"{r['differing_pixels']}/{r['pixels']} pixels differ, PSNR-Y ort {po:.4f} harmoq {ph:.4f} ({dt:.1f} s)",
              file=sys.stderr, flush=True)
    if out["images"]:
        mo = float(np.mean([r["psnr_ort"] for r in out["images"]]))
        mh = float(np.mean([r["psnr_harmoq"] for r in out["images"]]))
        out["mean_psnr_ort"], out["mean_psnr_harmoq"] = mo, mh
        if abs(mo - mh) > tol and gated:
            out["failures"].append(f"set mean: PSNR-Y onnxruntime {mo:.4f} vs harmoq {mh:.4f} (|Δ| > {tol} dB)")
        # Informative: onnxruntime's default optimizations (graph rewrites and fused kernels) on the first image.
        im = idx["images"][0]
        h, w = im["height"], im["width"]
        x = np.fromfile(os.path.join(dir_, im["input"]), dtype="<f4").reshape(1, 3, h, w)
        yh = np.fromfile(os.path.join(dir_, im["output"]), dtype="<f4").reshape(1, 3, h * s, w * s)
        hr = np.fromfile(os.path.join(dir_, im["hr"]), dtype=np.uint8).reshape(h * s, w * s, 3)
        yd = session(os.path.join(dir_, im["graph"]), ort.GraphOptimizationLevel.ORT_ENABLE_ALL, threads).run(None, {idx["input"]: x})[0]
        out["default_optimizations_first_image"] = {
            "name": im["name"], "max_abs_diff": float(np.max(np.abs(yd.astype(np.float64) - yh))),
            "differing_pixels": int((to_u8(yd) != to_u8(yh)).any(axis=2).sum()),
            "psnr_delta": psnr_y(to_u8(yd), hr, s) - psnr_y(to_u8(yh), hr, s)}
    return out


def stages(dir_, threads):
    """Per-stage comparison on the first image (needs export-onnx --stages): onnxruntime's intermediate values (the
    graph values index.json names for each stage — DAT-light: every block's attn.proj and ffn_residual; SwinIR-light:
    every block's mlp_residual and every group's residual — made graph outputs) against harmoq's (<name>.stage.<stage>.f32).
    Shows where two runs start to differ, and how a difference spreads block by block."""
    idx = json.load(open(os.path.join(dir_, "index.json")))
    im = idx["images"][0]
    h, w = im["height"], im["width"]
    m = onnx.load(os.path.join(dir_, im["graph"]))
    if not im.get("stages"):
        raise SystemExit(f"onnx-model-check --stages: {dir_}/index.json lists no stage files (export with --stages)")
    pairs = [(st["stage"], st["value"], st["file"]) for st in im["stages"]]
    for _, n, _ in pairs:
        m.graph.output.append(onnx.helper.make_empty_tensor_value_info(n))
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = threads
    so.log_severity_level = 3
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    x = np.fromfile(os.path.join(dir_, im["input"]), dtype="<f4").reshape(1, 3, h, w)
    outs = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {idx["input"]: x})))
    rows = []
    for tag, n, f in pairs:
        f = os.path.join(dir_, f)
        ref = np.fromfile(f, dtype="<f4")
        d = np.abs(outs[n].reshape(-1).astype(np.float64) - ref)
        rows.append({"stage": tag, "max_abs_diff": float(d.max()), "fraction_above_1e-4": float(np.mean(d > 1e-4)),
                     "max_abs": float(np.abs(ref).max())})
        print(f"onnx-model-check stages {im['name']} {tag:13s} max|Δ| {d.max():.3g}  fraction |Δ|>1e-4 {np.mean(d > 1e-4):.5f}",
              file=sys.stderr)
    return {"image": im["name"], "stages": rows}


def markdown(res):
    lines = [f"onnxruntime {res['onnxruntime']}, onnx {res['onnx']}; session: CPU, 2 threads, graph optimizations off "
             f"(ORT_DISABLE_ALL); PSNR tolerance {res['tolerance']} dB", ""]
    for e in res["exports"]:
        lines += [f"### {e['label']} ({e['export']})", "",
                  "| image | LR | max abs Δ (float) | differing pixels (uint8) | PSNR-Y onnxruntime | PSNR-Y harmoq | Δ dB |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        for r in e["images"]:
            lines.append(f"| {r['name']} | {r['size']} | {r['max_abs_diff']:.3g} | {r['differing_pixels']} / {r['pixels']} | "
                         f"{r['psnr_ort']:.4f} | {r['psnr_harmoq']:.4f} | {r['psnr_delta']:+.5f} |")
        if e["images"]:
            lines.append(f"| mean | | | | {e['mean_psnr_ort']:.4f} | {e['mean_psnr_harmoq']:.4f} | "
                         f"{e['mean_psnr_ort'] - e['mean_psnr_harmoq']:+.5f} |")
            d = e["default_optimizations_first_image"]
            lines += ["", f"Default optimizations (ORT_ENABLE_ALL), {d['name']}: max abs Δ {d['max_abs_diff']:.3g}, "
                      f"{d['differing_pixels']} differing pixels, PSNR Δ {d['psnr_delta']:+.5f} dB."]
        lines += ["", ("Failures: " if e["gated"] else "Reported, not gated on the PSNR bound (--report-only); failures: ")
                  + ("none" if not e["failures"] else "; ".join(e["failures"])), ""]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--export", action="append", required=True, help="folder written by export-onnx --whole-model (repeatable)")
    ap.add_argument("--report", required=True)
    ap.add_argument("--markdown", required=True)
    ap.add_argument("--psnr-tolerance", type=float, default=0.01)
    ap.add_argument("--report-only", action="append", default=[],
                    help="an --export folder whose set-mean PSNR difference is reported, not gated (onnx.checker and the "
                         "PSNR-implementation agreement still are; repeatable)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--stages", action="store_true",
                    help="also compare every block's output on the first image (export-onnx --stages); informative")
    a = ap.parse_args()
    res = {"onnxruntime": ort.__version__, "onnx": onnx.__version__, "tolerance": a.psnr_tolerance,
           "exports": [check(d, a.psnr_tolerance, a.threads, d not in a.report_only) for d in a.export]}
    if a.stages:
        for e, d in zip(res["exports"], a.export):
            e["stages"] = stages(d, a.threads)
    with open(a.report, "w") as f:
        json.dump(res, f, indent=1)
    with open(a.markdown, "w") as f:
        f.write(markdown(res))
    fails = [x for e in res["exports"] for x in e["failures"]]
    # Checks: one per image (PSNR within the tolerance, PSNR implementations agree) and one per export (set mean).
    n = sum(len(e["images"]) + 1 for e in res["exports"] if e["images"])
    failed = sum(len({f.split(":")[0] for f in e["failures"]}) for e in res["exports"])
    for x in fails:
        print("onnx-model-check: FAIL " + x, file=sys.stderr)
    print(f"onnx-model-check: {n - failed} passed, {failed} failed")
    sys.exit(1 if fails or n == 0 else 0)


if __name__ == "__main__":
    main()

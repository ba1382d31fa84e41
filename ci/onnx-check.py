#!/usr/bin/env python3
"""Run every site graph written by `harmoq export-onnx` in onnxruntime and compare with harmoq's fake-quant output.

For each exported Linear site (DIR/index.json):
  * the .onnx file must pass `onnx.checker.check_model(full_check=True)`;
  * onnxruntime (CPU, graph optimizations off) runs it on the captured input x;
  * activation codes: onnxruntime's `x_codes` output vs harmoq's codes, element by element. Every mismatch is
    classified: a *tie* mismatch is a one-step difference at an element whose grid coordinate v = (x / s) / Δ
    (affine grid: v = (clip(x / s, α, β) − α) / Δ) is
    exactly halfway between two integers (ONNX QuantizeLinear rounds ties to even; the codes are also computed in
    numpy both ways, half-to-even and half-away-from-zero); anything else is *other*. harmoq's codes are also
    checked against numpy's half-to-even codes;
  * outputs: |y_ort − y_harmoq| must be within the float32 bound below, element by element, on the rows whose codes
    agree (rows with a code mismatch are counted and left out of the output comparison).

Tolerance (per output element, no free constant): both sides compute the same real number
    y* = Σ_k (q_x,k Δx)(q_w,k Δw) + b
from identical codes and float32 scales, in float32 with some order of operations: at most d + 3 roundings per
term (dequantizing x and w, the product, d − 1 additions, the bias addition), so by the standard dot-product error
bound (Higham, Accuracy and Stability of Numerical Algorithms, §3.1) each is within γ_{d+3} · (Σ_k |x̂_k ŵ_k| + |b|)
of y*, where γ_n = n·u / (1 − n·u), u = 2⁻²⁴; reassociation (GEMM blocking, FMA, integer accumulation followed by
one scale multiply) only changes which of these roundings occur. Two such results differ by at most
    bound = 2 · γ_{d+3} · (Σ_k |x̂_k ŵ_k| + |b|),
which the script computes in float64. For an affine grid x̂ = qΔ + α adds one rounding whose error is bounded by
u·(|qΔ| + |α|), not by u·|x̂| (cancellation), so there the bound is 2·γ_{d+4}·(Σ_k (|q_k Δ| + |α|)·|ŵ_k| + |b|).
A site fails when max |Δ| / bound > 1 or when it has a non-tie mismatch.

Rotated sites (the plan's online rotation, initializer `rotation`: the graph starts with MatMul(x, R)): onnxruntime and
harmoq both compute x·R in float32, in different orders, so a grid coordinate within the float32 product's error
bound γ_d·Σ_k |x_k R_kj| (scaled by 1/(sΔ)) of a half-integer may round either way; a one-step code difference there is
a *rotation rounding* mismatch (counted, allowed), anything else *other*. The output bound is unchanged (it starts
from the dequantized codes).

Writes REPORT (JSON: {"onnxruntime": version, "sites": [{"site", "elements", "maxAbsDiff", "tieMismatches",
"otherMismatches"}]}, elements = activation elements compared, rows × d), DETAIL (JSON, every number below per site,
plus the sites that were not exportable and why) and MARKDOWN (a summary table). Exit status 1 when any site fails,
when no site was exported, or when a graph does not load.
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

U = 2.0 ** -24


def gamma(n):
    return n * U / (1.0 - n * U)


def load(dir_, name, dtype, shape):
    a = np.fromfile(os.path.join(dir_, name), dtype=dtype)
    if a.size != shape[0] * shape[1]:
        raise SystemExit(f"onnx-check: {name} holds {a.size} values, index.json says {shape[0]}x{shape[1]}")
    return a.reshape(shape)


def zero_point(e):
    """The integer zero point z of an affine grid exported as plain QDQ (`activationZeroPoint`), else None."""
    z = e.get("activationZeroPoint")
    return None if z is None else int(z)


def codes(e, v, rule):
    """Codes from grid coordinates: round (rule) then add the integer zero point, clipped to the code range."""
    z = zero_point(e) or 0
    r = np.rint(v) if rule == "even" else np.sign(v) * np.floor(np.abs(v) + 0.5)
    return np.clip(r + z, e["codeMin"], e["codeMax"]).astype(np.int32)


def grid(e, x):
    """The grid coordinate v the graph rounds, in float32 as the graph computes it (returned in float64, exactly):
    symmetric and integer-zero-point (x ⊘ s)/Δ (QuantizeLinear then adds z); float-zero-point affine
    (clip(x ⊘ s, α, β) − α)/Δ."""
    xs = x / np.asarray(e["hsoScale"], dtype=np.float32) if e.get("hsoScale") else x       # float32 division, as Div
    if e.get("activationScheme") == "affine" and zero_point(e) is None:
        lo, hi = np.float32(e["activationLower"]), np.float32(e["activationUpper"])
        xs = np.minimum(np.maximum(xs, lo), hi) - lo                                       # Clip, Sub
    return (xs / np.float32(e["activationStep"])).astype(np.float64)                       # float32 division


def rotated_grid(e, x, R):
    """A rotated site (initializer `rotation`): the graph computes x·R in float32 (MatMul), harmoq in float32 with
    another order of operations (its GEMM), so the two may round a grid coordinate to different sides of a
    half-integer. Returns (v, margin): v = ((x·R) ⊘ s)/Δ with x·R in float64, and per element a margin that bounds
    |v_float32 − v| for either side: the float32 product is within γ_d·Σ_k |x_k R_kj| of the exact one (Higham §3.1),
    scaled by 1/(s·Δ), plus three relative roundings u·|v| for the two divisions and the conversion."""
    d = x.shape[1]
    x64, R64 = x.astype(np.float64), R.astype(np.float64)
    xr = x64 @ R64
    beta = gamma(d) * (np.abs(x64) @ np.abs(R64))
    s = np.asarray(e["hsoScale"], dtype=np.float64) if e.get("hsoScale") else np.ones(d)
    step = float(np.float32(e["activationStep"]))
    if e.get("activationScheme") == "affine" and zero_point(e) is None:
        raise SystemExit(f"onnx-check: {e['site']}: a rotated site with a float-zero-point affine grid is not handled")
    v = xr / s[None, :] / step
    return v, beta / s[None, :] / step + 3 * U * np.abs(v)


def near_half(v, margin):
    """Elements whose grid coordinate is within `margin` of a half-integer (the rounding may go either way)."""
    return np.abs(v - (np.floor(v) + 0.5)) <= margin


def dequantized(e, codes):
    """DequantizeLinear (and the affine Add α), in float32."""
    if zero_point(e) is not None:
        return (codes.astype(np.int32) - zero_point(e)).astype(np.float32) * np.float32(e["activationStep"])
    x = codes.astype(np.float32) * np.float32(e["activationStep"])
    return x + np.float32(e["activationLower"]) if e.get("activationScheme") == "affine" else x


def session(path, level):
    so = ort.SessionOptions()
    so.graph_optimization_level = level
    so.intra_op_num_threads = 2
    so.log_severity_level = 3
    return ort.InferenceSession(path, sess_options=so, providers=["CPUExecutionProvider"])


def check_site(dir_, e):
    rows, d, m = e["rows"], e["inFeatures"], e["outFeatures"]
    path = os.path.join(dir_, e["onnx"])
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    x = load(dir_, e["input"], np.float32, (rows, d))
    y_ref = load(dir_, e["output"], np.float32, (rows, m))

    outs = session(path, ort.GraphOptimizationLevel.ORT_DISABLE_ALL).run(None, {"x": x})
    names = [o.name for o in model.graph.output]
    got = dict(zip(names, outs))
    y = got["y"]
    if y.shape != (rows, m) or y.dtype != np.float32:
        raise SystemExit(f"onnx-check: {e['site']}: onnxruntime returned y {y.shape} {y.dtype}, expected ({rows}, {m}) float32")

    r = {"site": e["site"], "rows": rows, "inFeatures": d, "outFeatures": m, "elements": rows * d,
         "tieMismatches": 0, "rotationRoundingMismatches": 0, "otherMismatches": 0, "tiesInData": 0, "harmoqVsNumpyMismatches": 0, "rowsWithCodeMismatch": 0}
    bad_rows = np.zeros(rows, dtype=bool)
    if e.get("codes"):
        codes_ort = got["x_codes"].astype(np.int32)
        affine = e.get("activationScheme") == "affine"
        codes_ours = load(dir_, e["codes"], np.uint8 if affine else np.int8, (rows, d)).astype(np.int32)
        lo, hi = e["codeMin"], e["codeMax"]
        rotation = inits.get("rotation")
        if rotation is not None:
            # One-step differences where the float32 rotation may land on either side of a rounding boundary are
            # rotation roundings (counted, allowed); they take the place of exact ties (v is not float32 here).
            v, margin = rotated_grid(e, x, rotation)
            ambiguous = near_half(v, margin)
            r["rotated"] = True
            r["rotationAmbiguousElements"] = int(np.count_nonzero(ambiguous))
        else:
            v = grid(e, x)
            ambiguous = np.zeros(v.shape, dtype=bool)
        even = codes(e, v, "even")                                                        # numpy rint: half to even
        away = codes(e, v, "away")
        tie = ((v - np.floor(v)) == 0.5) & ~ambiguous
        r["tiesInData"] = int(np.count_nonzero(tie))
        r["tiesResolvedDifferentlyByHalfAway"] = int(np.count_nonzero(even != away))
        # harmoq vs the definition (half to even): a one-step difference at a tie is a tie-rule difference, and is
        # counted below against onnxruntime; anything else is a bug of harmoq's quantizer.
        d_np = codes_ours - even
        r["harmoqVsNumpyMismatches"] = int(np.count_nonzero((d_np != 0) & ~((np.abs(d_np) == 1) & (tie | ambiguous))))
        diff = codes_ort - codes_ours
        mism = diff != 0
        tie_mism = mism & (np.abs(diff) == 1) & tie
        rot_mism = mism & (np.abs(diff) == 1) & ambiguous
        r["tieMismatches"] = int(np.count_nonzero(tie_mism))
        r["rotationRoundingMismatches"] = int(np.count_nonzero(rot_mism))
        r["otherMismatches"] = int(np.count_nonzero(mism & ~tie_mism & ~rot_mism)) + r["harmoqVsNumpyMismatches"]
        bad_rows = mism.any(axis=1)
        r["rowsWithCodeMismatch"] = int(np.count_nonzero(bad_rows))
        r["onnxruntimeMatchesHalfAway"] = bool(np.array_equal(codes_ort, away))
        x_hat = dequantized(e, codes_ort)
        # Affine: x̂ = qΔ + α has its own roundings, bounded by u·(|qΔ| + |α|), not by u·|x̂| (cancellation).
        float_zp = affine and zero_point(e) is None
        x_mag = np.abs(codes_ort.astype(np.float64) * float(e["activationStep"])) + abs(float(e["activationLower"])) if float_zp else np.abs(x_hat.astype(np.float64))
        extra = 1 if float_zp else 0
    else:
        x_hat = x
        x_mag, extra = np.abs(x.astype(np.float64)), 0
    if "w_codes" in inits:
        w_hat = inits["w_codes"].astype(np.float32) * inits["w_scale"].astype(np.float32)[None, :]
    else:
        w_hat = inits["w"]
    b = inits.get("bias", np.zeros(m, dtype=np.float32)).astype(np.float64)
    s_abs = x_mag @ np.abs(w_hat.astype(np.float64)) + np.abs(b)[None, :]
    bound = 2.0 * gamma(d + 3 + extra) * s_abs
    delta = np.abs(y.astype(np.float64) - y_ref.astype(np.float64))
    keep = ~bad_rows
    dk, bk = delta[keep], bound[keep]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(bk > 0, dk / bk, np.where(dk > 0, np.inf, 0.0))
    r["maxAbsDiff"] = float(dk.max()) if dk.size else 0.0
    r["maxBoundRatio"] = float(ratio.max()) if ratio.size else 0.0
    r["bitIdenticalOutputs"] = int(np.count_nonzero(dk == 0))
    r["outputElementsCompared"] = int(dk.size)
    scale = float(np.abs(y_ref).max()) if y_ref.size else 0.0
    r["maxAbsDiffOverMaxAbsY"] = r["maxAbsDiff"] / scale if scale > 0 else 0.0
    r["maxAbsY"] = scale

    # Informative: the same graph with onnxruntime's default optimizations (level ALL), and with them but MatMulNBits
    # kept in float32 (session.qdq_matmulnbits_accuracy_level = 0): at level EXTENDED and above onnxruntime turns
    # DequantizeLinear(int8 weight) + MatMul into MatMulNBits, whose default accuracy level 4 quantizes the activation
    # to int8 inside the kernel — a different computation from the graph's.
    for key, extra_cfg in (("optimized", {}), ("optimizedAccuracy0", {"session.qdq_matmulnbits_accuracy_level": "0"})):
        try:
            so = ort.SessionOptions()
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            so.intra_op_num_threads = 2
            so.log_severity_level = 3
            for k, val in extra_cfg.items():
                so.add_session_config_entry(k, val)
            y_opt = ort.InferenceSession(path, sess_options=so, providers=["CPUExecutionProvider"]).run(["y"], {"x": x})[0]
            dopt = np.abs(y_opt.astype(np.float64) - y_ref.astype(np.float64))[keep]
            with np.errstate(divide="ignore", invalid="ignore"):
                ropt = np.where(bk > 0, dopt / bk, np.where(dopt > 0, np.inf, 0.0))
            r[key + "MaxAbsDiff"] = float(dopt.max()) if dopt.size else 0.0
            r[key + "MaxBoundRatio"] = float(ropt.max()) if ropt.size else 0.0
        except Exception as ex:  # informative only
            r[key + "Error"] = str(ex).splitlines()[0]
            r[key + "MaxBoundRatio"] = float("nan")

    r["pass"] = r["maxBoundRatio"] <= 1.0 and r["otherMismatches"] == 0
    return r


def self_test(dir_, e, tmp):
    """Checks that the checker can fail, on onnxruntime's real output for one exported site: synthetic exact ties
    (onnxruntime must resolve them half to even), half-away codes (tie mismatches, pass), a code two steps off
    (other mismatch, fail) and an output moved past the bound (fail). Returns (name, ok, detail) triples."""
    import shutil
    rows, d, m = e["rows"], e["inFeatures"], e["outFeatures"]
    step = np.float32(e["activationStep"])
    affine = e.get("activationScheme") == "affine"
    hso = np.asarray(e["hsoScale"], dtype=np.float32) if e.get("hsoScale") else np.ones(d, dtype=np.float32)
    lo, hi = e["codeMin"], e["codeMax"]
    z = zero_point(e)
    shift = np.float32(e["activationLower"]) if affine and z is None else np.float32(0)
    x = load(dir_, e["input"], np.float32, (rows, d)).copy()
    # Exact ties v = k + 1/2 on the first rows: x near ((k + 1/2)·Δ + shift)·s (searched over a few neighbouring
    # float32 values), kept only where the float32 operations of the graph give back exactly k + 1/2.
    ks = np.arange(lo - (z or 0), hi - (z or 0) + 1, dtype=np.float32) + np.float32(0.5)
    n_ties = 0
    for i in range(min(rows, 8)):
        for j in range(d):
            v = ks[(i * d + j) % len(ks)]
            old = x[i, j]
            start = np.float32(np.float32(np.float32(v * step) + shift) * hso[j])
            up, down = start, start
            cands = [start]
            for _ in range(16):
                up = np.nextafter(up, np.float32(np.inf), dtype=np.float32)
                down = np.nextafter(down, np.float32(-np.inf), dtype=np.float32)
                cands += [up, down]
            for c in cands:
                x[i, j] = c
                if grid(e, x[i:i + 1, :])[0, j] == v:
                    n_ties += 1
                    break
            else:
                x[i, j] = old
    model = onnx.load(os.path.join(dir_, e["onnx"]))
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    v = grid(e, x)
    even = codes(e, v, "even")
    away = codes(e, v, "away")
    w_hat = inits["w_codes"].astype(np.float32) * inits["w_scale"].astype(np.float32)[None, :] if "w_codes" in inits else inits["w"]
    y_np = dequantized(e, even) @ w_hat + inits.get("bias", np.zeros(m, dtype=np.float32))
    code_type = np.uint8 if affine else np.int8

    def case(name, codes, y):
        sub = os.path.join(tmp, name)
        os.makedirs(sub, exist_ok=True)
        shutil.copy(os.path.join(dir_, e["onnx"]), os.path.join(sub, e["onnx"]))
        x.tofile(os.path.join(sub, e["input"]))
        codes.astype(code_type).tofile(os.path.join(sub, e["codes"]))
        y.astype(np.float32).tofile(os.path.join(sub, e["output"]))
        return check_site(sub, e)

    out = []
    r = case("ties-even", even, y_np)
    out.append(("onnxruntime resolves synthetic exact ties half to even", r["pass"] and r["tieMismatches"] == 0
                and r["tiesInData"] >= n_ties > 0 and r["tiesResolvedDifferentlyByHalfAway"] > 0 and not r["onnxruntimeMatchesHalfAway"],
                f"{n_ties} ties placed, {r['tiesInData']} in data, {r['tiesResolvedDifferentlyByHalfAway']} where the two rules differ, "
                f"tie mismatches {r['tieMismatches']}"))
    r2 = case("ties-away", away, y_np)
    out.append(("half-away codes count as tie mismatches and pass", r2["pass"] and r2["otherMismatches"] == 0
                and r2["tieMismatches"] == r["tiesResolvedDifferentlyByHalfAway"] > 0,
                f"tie mismatches {r2['tieMismatches']}, other {r2['otherMismatches']}"))
    off = even.copy()
    i, j = rows - 1, 0
    off[i, j] = off[i, j] - 2 if off[i, j] - 2 >= lo else off[i, j] + 2
    r3 = case("two-steps", off, y_np)
    out.append(("a code two steps off is an other mismatch and fails", (not r3["pass"]) and r3["otherMismatches"] >= 1,
                f"other mismatches {r3['otherMismatches']}"))
    y_bad = y_np.copy()
    y_bad[rows - 1, 0] += np.float32(0.5)
    r4 = case("output-off", even, y_bad)
    out.append(("an output 0.5 off fails the float32 bound", (not r4["pass"]) and r4["maxBoundRatio"] > 1,
                f"max |Δ|/bound {r4['maxBoundRatio']:.3g}"))
    return out


def self_test_rotated(dir_, e, tmp):
    """The self-test for a rotated site (initializer `rotation`): harmoq's own files pass; a code moved one step where
    the grid coordinate is far from a rounding boundary is an other mismatch (fail), one moved where it is within the
    rotation's margin (when the data has such an element) a rotation rounding (pass); codes of the unrotated x (an
    export that forgot R) fail. Returns (name, ok, detail) triples."""
    import shutil
    rows, d = e["rows"], e["inFeatures"]
    model = onnx.load(os.path.join(dir_, e["onnx"]))
    R = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}["rotation"]
    x = load(dir_, e["input"], np.float32, (rows, d))
    affine = e.get("activationScheme") == "affine"
    code_type = np.uint8 if affine else np.int8
    ours = load(dir_, e["codes"], code_type, (rows, d)).astype(np.int32)
    v, margin = rotated_grid(e, x, R)
    amb = near_half(v, margin)
    lo, hi = e["codeMin"], e["codeMax"]

    def case(name, c):
        sub = os.path.join(tmp, name)
        os.makedirs(sub, exist_ok=True)
        for k in ("onnx", "input", "output"):
            shutil.copy(os.path.join(dir_, e[k]), os.path.join(sub, e[k]))
        c.astype(code_type).tofile(os.path.join(sub, e["codes"]))
        return check_site(sub, e)

    def step_at(mask):
        idx = np.argwhere(mask & (ours > lo) & (ours < hi))
        if len(idx) == 0:
            return None
        c = ours.copy()
        i, j = idx[0]
        c[i, j] += 1 if v[i, j] > ours[i, j] - (zero_point(e) or 0) else -1    # towards the other side of v
        return c

    out = []
    r = case("rot-as-exported", ours)
    out.append(("rotated site: harmoq's codes pass", r["pass"] and r["otherMismatches"] == 0,
                f"rotation-rounding mismatches {r['rotationRoundingMismatches']}, ambiguous elements {r['rotationAmbiguousElements']}"))
    far = step_at(~amb)
    if far is not None:
        r = case("rot-one-step-far", far)
        out.append(("rotated site: a one-step code difference away from a boundary is an other mismatch and fails",
                    (not r["pass"]) and r["otherMismatches"] >= 1, f"other mismatches {r['otherMismatches']}"))
    near = step_at(amb)
    if near is not None:
        r = case("rot-one-step-near", near)
        out.append(("rotated site: a one-step code difference within the rotation's margin is a rotation rounding and passes",
                    r["pass"] and r["rotationRoundingMismatches"] >= 1, f"rotation-rounding mismatches {r['rotationRoundingMismatches']}"))
    unrotated = codes(e, grid(e, x), "even")
    r = case("rot-forgotten", unrotated)
    out.append(("codes of the unrotated input (R forgotten) fail", (not r["pass"]) and r["otherMismatches"] > rows,
                f"other mismatches {r['otherMismatches']}"))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--export", required=True, help="folder written by harmoq export-onnx (with index.json)")
    ap.add_argument("--report", required=True)
    ap.add_argument("--detail", required=True)
    ap.add_argument("--markdown", required=True)
    ap.add_argument("--self-test", action="store_true",
                    help="also check, on one exported site, that the checker detects tie, code and output differences")
    a = ap.parse_args()
    with open(os.path.join(a.export, "index.json")) as f:
        index = json.load(f)
    if index.get("format") != "harmoq-onnx-sites/1":
        raise SystemExit(f"onnx-check: {a.export}/index.json has format {index.get('format')!r}, expected 'harmoq-onnx-sites/1'")
    results, skipped = [], []
    for e in index["sites"]:
        if not e["exported"]:
            skipped.append({"site": e["site"], "reason": e.get("reason")})
            continue
        results.append(check_site(a.export, e))

    selftest = []
    if a.self_test:
        import tempfile
        first = next((e for e in index["sites"] if e["exported"] and e.get("codes")), None)
        if first is None:
            selftest = [("self-test needs an exported site with quantized activations", False, "none")]
        else:
            rotated = next((e for e in index["sites"] if e["exported"] and e.get("codes") and e.get("rotation")), None)
            with tempfile.TemporaryDirectory() as tmp:
                selftest = self_test(a.export, first, tmp) if not first.get("rotation") else []
                if rotated is not None:
                    selftest += self_test_rotated(a.export, rotated, tmp)

    for p in (a.report, a.detail, a.markdown):
        os.makedirs(os.path.dirname(os.path.abspath(p)), exist_ok=True)
    report = {"onnxruntime": ort.__version__,
              "sites": [{k: r[k] for k in ("site", "elements", "maxAbsDiff", "tieMismatches", "otherMismatches")} for r in results]}
    with open(a.report, "w") as f:
        json.dump(report, f, indent=2)
    detail = {"onnxruntime": ort.__version__, "onnx": onnx.__version__, "numpy": np.__version__,
              "model": index["model"], "quant": index["quant"], "method": index["method"], "bits": index["bits"],
              "opset": index["opset"], "patches": index["patches"], "rowsPerSite": index["rowsPerSite"],
              "tolerance": "per output element: 2*gamma_{d+3}*(sum_k |x^_k w^_k| + |b|), gamma_n = n*u/(1-n*u), u = 2^-24",
              "sites": results, "notExportable": skipped,
              "selfTest": [{"check": n, "ok": ok, "detail": det} for n, ok, det in selftest]}
    with open(a.detail, "w") as f:
        json.dump(detail, f, indent=2)

    failed = [r for r in results if not r["pass"]]
    tot = lambda k: sum(r[k] for r in results)
    lines = [f"# ONNX QDQ export checked by onnxruntime {ort.__version__}", "",
             f"Model `{index['model']}`, QPARAMS `{index['quant']}` ({index['method']}, {index['bits']}), opset {index['opset']}; "
             f"inputs captured on {len(index['patches'])} LR patch(es) {', '.join(index['patches'])}, "
             f"{index['rowsPerSite']} rows per site.", "",
             f"**{len(results)} sites exported, {len(skipped)} not exportable, {len(failed)} failed.** "
             f"Activation elements compared: {tot('elements')}; exact ties in the data: {tot('tiesInData')}; "
             f"tie mismatches: {tot('tieMismatches')}; other mismatches: {tot('otherMismatches')}; "
             f"rotated sites: {sum(1 for r in results if r.get('rotated'))}, elements within the float32 rotation's "
             f"rounding margin of a boundary: {sum(r.get('rotationAmbiguousElements', 0) for r in results)}, "
             f"one-step code differences there: {tot('rotationRoundingMismatches')}; "
             f"outputs bit-identical: {tot('bitIdenticalOutputs')} of {tot('outputElementsCompared')}; "
             f"max |Δ|/bound: {max([r['maxBoundRatio'] for r in results], default=0):.3g} "
             f"(informative, onnxruntime's default optimizations: {max([r['optimizedMaxBoundRatio'] for r in results], default=0):.3g}, "
             f"max |Δ| {max([r.get('optimizedMaxAbsDiff', 0) for r in results], default=0):.3g}; the same with "
             f"session.qdq_matmulnbits_accuracy_level=0: {max([r['optimizedAccuracy0MaxBoundRatio'] for r in results], default=0):.3g}).", "",
             "Bound per output element: 2·γ_{d+3}·(Σ|x̂ŵ| + |b|), γ_n = n·u/(1−n·u), u = 2⁻²⁴ (see ci/onnx-check.py).", "",
             "| site | rows×d | ties in data | tie mism. | other mism. | max abs Δ | max abs Δ / max abs y | max Δ/bound | pass |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['site']} | {r['rows']}×{r['inFeatures']} | {r['tiesInData']} | {r['tieMismatches']} | "
                     f"{r['otherMismatches']} | {r['maxAbsDiff']:.3g} | {r['maxAbsDiffOverMaxAbsY']:.3g} | "
                     f"{r['maxBoundRatio']:.3g} | {'yes' if r['pass'] else '**NO**'} |")
    if skipped:
        lines += ["", "Not exportable as exact QDQ:", ""] + [f"- {s['site']}: {s['reason']}" for s in skipped]
    if selftest:
        lines += ["", "Self-test of the checker (on the first site, mutated copies):", ""] + \
                 [f"- {'ok' if ok else '**FAILED**'}: {n} ({det})" for n, ok, det in selftest]
    with open(a.markdown, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines[:5]))
    if not results:
        print("onnx-check: FAIL: no site was exported", file=sys.stderr)
        return 1
    for r in failed:
        print(f"onnx-check: FAIL {r['site']}: max |Δ|/bound {r['maxBoundRatio']:.3g}, other mismatches {r['otherMismatches']}",
              file=sys.stderr)
    for n, ok, det in selftest:
        print(f"onnx-check: self-test {'ok' if ok else 'FAILED'}: {n} ({det})", file=sys.stderr if not ok else sys.stdout)
    st_failed = [n for n, ok, _ in selftest if not ok]
    print(f"onnx-check: {len(results) - len(failed)} passed, {len(failed) + len(st_failed)} failed")
    return 1 if failed or st_failed else 0


if __name__ == "__main__":
    sys.exit(main())

import Foundation
import SRIO
import Testing
@testable import SREngine

/// Window attention backward: a 5×7 grid of q/k/v (qkv rows of 18 channels: 2 heads × 3 dims each), zero-padded
/// to 8×8, windows 4×8 (and 8×4), shifts (0,0) and (2,4)/(4,2) with the −100 mask, random position bias.
/// Fast Float backward vs the Float64 reference (≤ 1e-5 scaled), reference vs central FD (h = 1e-5, ≤ 1e-7),
/// fast forward vs the engine's `WindowAttention.run` (bit-identical) and vs the reference forward (≤ 1e-5).
/// With a smooth stand-in quantizer (x + 0.1x²) on q, k, v and probs, the same checks test the site plumbing.
@Suite struct WindowAttentionBackwardTests {
    struct Case: Sendable, CustomStringConvertible {
        let windowH: Int, windowW: Int, shiftH: Int, shiftW: Int, quantized: Bool, seed: UInt64
        var description: String { "\(windowH)x\(windowW) shift (\(shiftH),\(shiftW))\(quantized ? " with site maps" : "") seed \(seed)" }
    }

    static let cases: [Case] = [
        Case(windowH: 4, windowW: 8, shiftH: 0, shiftW: 0, quantized: false, seed: 201),
        Case(windowH: 4, windowW: 8, shiftH: 2, shiftW: 4, quantized: false, seed: 202),
        Case(windowH: 8, windowW: 4, shiftH: 4, shiftW: 2, quantized: false, seed: 203),
        Case(windowH: 4, windowW: 8, shiftH: 2, shiftW: 4, quantized: true, seed: 204),
    ]

    @Test(arguments: cases)
    func againstReferenceAndFD(_ c: Case) {
        let h = 5, w = 7, hp = 8, wp = 8, heads = 2, hd = 3, C = heads * hd, ld = 3 * C, L = h * w
        let N = c.windowH * c.windowW, scale = Float(pow(Double(hd), -0.5))
        let qkv = gaussians(L * ld, seed: c.seed), bias = gaussians(heads * N * N, seed: c.seed + 1000, scale: 0.5)
        let g = gaussians(L * C, seed: c.seed + 2000)
        let geo = WindowGeometry(height: h, width: w, paddedHeight: hp, paddedWidth: wp, windowH: c.windowH, windowW: c.windowW,
                                 shiftH: c.shiftH, shiftW: c.shiftW)
        var op = WindowAttentionBackward(geometry: geo, heads: heads, headDim: hd, scale: scale, bias: bias)
        var maps = WindowAttentionReference.Maps()
        let qm = SmoothSiteMap(), km = SmoothSiteMap(a: -0.05), vm = SmoothSiteMap(a: 0.2), pm = SmoothSiteMap(a: 0.3)
        if c.quantized {
            op.qQuantizer = qm; op.kQuantizer = km; op.vQuantizer = vm; op.probsQuantizer = pm
            maps.q = qm.map; maps.k = km.map; maps.v = vm.map; maps.probs = pm.map
        }
        var out = [Float](repeating: 0, count: L * C)
        var dqkv = [Float](repeating: 0, count: L * ld), dBias = [Float](repeating: 0, count: heads * N * N)
        qkv.withUnsafeBufferPointer { q in out.withUnsafeMutableBufferPointer { o in
            g.withUnsafeBufferPointer { gp in dqkv.withUnsafeMutableBufferPointer { d in dBias.withUnsafeMutableBufferPointer { db in
                let cache = op.forward(qkv: q.baseAddress!, ld: ld, qOff: 0, kOff: C, vOff: 2 * C, out: o.baseAddress!, ldo: C, outOff: 0)
                op.backward(cache, dOut: gp.baseAddress!, ldo: C, outOff: 0, dqkv: d.baseAddress!, ld: ld, qOff: 0, kOff: C, vOff: 2 * C,
                            dBias: db.baseAddress!)
            }}}
        }}
        let spec = WindowAttentionReference.Spec(height: h, width: w, paddedHeight: hp, paddedWidth: wp, windowH: c.windowH,
                                                 windowW: c.windowW, shiftH: c.shiftH, shiftW: c.shiftW, heads: heads, headDim: hd,
                                                 scale: Double(scale))
        let xd = toDouble(qkv), bd = toDouble(bias), gd = toDouble(g)
        let ref = WindowAttentionReference.backward(qkv: xd, ld: ld, qOff: 0, kOff: C, vOff: 2 * C, bias: bd, spec: spec, maps: maps, dOut: gd)
        let f = { (x: [Double], b: [Double]) in
            dot(WindowAttentionReference.forward(qkv: x, ld: ld, qOff: 0, kOff: C, vOff: 2 * C, bias: b, spec: spec, maps: maps), gd) }
        let fdx = finiteDifferences(xd) { f($0, bd) }
        let bIdx = Array(stride(from: 0, to: bias.count, by: 7))
        let fdb = finiteDifferences(bd, indices: bIdx) { f(xd, $0) }
        let yRef = WindowAttentionReference.forward(qkv: xd, ld: ld, qOff: 0, kOff: C, vOff: 2 * C, bias: bd, spec: spec, maps: maps)
        check("window attention \(c)", fast: [("dqkv", dqkv, ref.dqkv), ("dbias", dBias, ref.dBias)],
              fd: [("dqkv", ref.dqkv, fdx), ("dbias", bIdx.map { ref.dBias[$0] }, bIdx.map { fdb[$0] })], forward: (out, yRef))
        if c.quantized {
            #expect([qm, km, vm, pm].allSatisfy { $0.forwardCalls == 1 && $0.backwardCalls == 1 }, "each site map runs once each way")
        } else {
            // The engine's forward, same inputs: identical output.
            let engine = WindowAttention(geometry: geo, heads: heads, headDim: hd, scale: scale, bias: bias, qSite: 0, kSite: 0, vSite: 0, probsSite: 0)
            var y = [Float](repeating: 0, count: L * C)
            qkv.withUnsafeBufferPointer { q in y.withUnsafeMutableBufferPointer { o in
                engine.run(qkv: q.baseAddress!, ld: ld, qOff: 0, kOff: C, vOff: 2 * C, out: o.baseAddress!, ldo: C, outOff: 0, hook: nil, table: SiteTable())
            }}
            #expect(y == out, "backward-capable forward differs from WindowAttention.run")
        }
    }

    /// Folding d bias into the table is the adjoint of the engine's `DynamicPosBias.expand` (a gather): the derivative
    /// of ⟨expand(t), g⟩ along each table entry, evaluated exactly with unit vectors through the engine.
    @Test func biasTableFold() {
        let heads = 3, hH = 4, wW = 8, N = hH * wW, entries = (2 * hH - 1) * (2 * wW - 1)   // seed 302
        let g = gaussians(heads * N * N, seed: 302)
        let folded = WindowAttentionBackward.foldBiasGradient(g, heads: heads, windowH: hH, windowW: wW)
        let fd = (0..<(entries * heads)).map { i -> Double in
            var e = [Float](repeating: 0, count: entries * heads); e[i] = 1
            return dot(toDouble(DynamicPosBias.expand(table: e, heads: heads, windowH: hH, windowW: wW)), toDouble(g))
        }
        let e = scaledError(folded, fd)
        report("bias table fold vs FD: \(e)")
        #expect(e <= 1e-6, "fold vs FD \(e)")
    }

    /// The same backward on 1 and 3 threads gives the same bits (64×64-like layout at small size: 16×16 grid).
    @Test func threadCountIndependent() {
        let h = 13, w = 14, heads = 3, hd = 4, C = heads * hd, ld = 3 * C, L = h * w   // seeds 401..403
        let geo = WindowGeometry(height: h, width: w, paddedHeight: 16, paddedWidth: 16, windowH: 4, windowW: 8, shiftH: 2, shiftW: 4)
        let N = 32
        let qkv = gaussians(L * ld, seed: 401), bias = gaussians(heads * N * N, seed: 402), g = gaussians(L * C, seed: 403)
        func run() -> ([Float], [Float]) {
            let op = WindowAttentionBackward(geometry: geo, heads: heads, headDim: hd, scale: 0.5, bias: bias)
            var out = [Float](repeating: 0, count: L * C), dqkv = [Float](repeating: 0, count: L * ld), db = [Float](repeating: 0, count: heads * N * N)
            qkv.withUnsafeBufferPointer { q in out.withUnsafeMutableBufferPointer { o in g.withUnsafeBufferPointer { gp in
                dqkv.withUnsafeMutableBufferPointer { d in db.withUnsafeMutableBufferPointer { b in
                    let cache = op.forward(qkv: q.baseAddress!, ld: ld, qOff: 0, kOff: C, vOff: 2 * C, out: o.baseAddress!, ldo: C, outOff: 0)
                    op.backward(cache, dOut: gp.baseAddress!, ldo: C, outOff: 0, dqkv: d.baseAddress!, ld: ld, qOff: 0, kOff: C, vOff: 2 * C, dBias: b.baseAddress!)
                }}
            }}}
            return (dqkv, db)
        }
        let one = Parallel.withThreads(1) { run() }, three = Parallel.withThreads(3) { run() }
        #expect(one.0 == three.0 && one.1 == three.1)
    }
}

/// DynamicPosBias backward on synthetic weights with pos_dim 4 (DAT-light's pos_dim is 1, where LayerNorm over one
/// feature makes the table constant and most gradients exactly 0, so the real model cannot test this path):
/// window 3×4 (entries 5·7 = 35), 3 heads, seeds 801.., loss Σ table ⊙ G. The table equals the engine's
/// `DynamicPosBias.table`; gradients vs central FD of a Float64 forward (LinearBackward/LayerNormBackward
/// reference forwards, ReLU), h = 1e-6, scaled error ≤ 1e-5 (float32 backward).
@Suite struct DynamicPosBiasBackwardTests {
    @Test func againstFD() {
        let posDim = 4, heads = 3, hH = 3, wW = 4, entries = (2 * hH - 1) * (2 * wW - 1), p = "attn"
        var w: [String: Tensor] = [:]
        var rpe: [Float] = []
        for dh in (1 - hH)..<hH { for dw in (1 - wW)..<wW { rpe += [Float(dh), Float(dw)] } }
        w["\(p).rpe_biases"] = Tensor(shape: [entries, 2], data: rpe)
        var seed: UInt64 = 801
        func add(_ n: String, _ shape: [Int], scale: Double = 0.5, offset: Float = 0) {
            w[n] = Tensor(shape: shape, data: gaussians(shape.reduce(1, *), seed: seed, scale: scale).map { $0 + offset }); seed += 1
        }
        add("\(p).pos.pos_proj.weight", [posDim, 2]); add("\(p).pos.pos_proj.bias", [posDim])
        for k in 1...3 {
            add("\(p).pos.pos\(k).0.weight", [posDim], offset: 1); add("\(p).pos.pos\(k).0.bias", [posDim])
            let o = k == 3 ? heads : posDim
            add("\(p).pos.pos\(k).2.weight", [o, posDim]); add("\(p).pos.pos\(k).2.bias", [o])
        }
        let G = gaussians(entries * heads, seed: 899)
        let pb = DynamicPosBiasBackward(w, p, posDim: posDim, heads: heads, entries: entries)
        let engineTable = DynamicPosBias.table(WeightStore(w), p, posDim: posDim, heads: heads, entries: entries)
        #expect(pb.table == engineTable, "tape forward differs from DynamicPosBias.table")
        let grads = ParameterGradients()
        let names = DynamicPosBiasBackward.parameterNames(p)
        for n in names { grads.register(n, shape: w[n]!.shape) }
        pb.backward(dTable: G, grads: grads)
        func loss(_ v: [String: [Double]]) -> Double {
            var x = LinearBackward.referenceForward(x: toDouble(rpe), rows: entries, weight: v["\(p).pos.pos_proj.weight"]!,
                                                    bias: v["\(p).pos.pos_proj.bias"]!, inFeatures: 2, outFeatures: posDim)
            for k in 1...3 {
                let l = LayerNormBackward.referenceForward(x: x, rows: entries, gamma: v["\(p).pos.pos\(k).0.weight"]!,
                                                           beta: v["\(p).pos.pos\(k).0.bias"]!).map { max($0, 0) }
                x = LinearBackward.referenceForward(x: l, rows: entries, weight: v["\(p).pos.pos\(k).2.weight"]!,
                                                    bias: v["\(p).pos.pos\(k).2.bias"]!, inFeatures: posDim, outFeatures: k == 3 ? heads : posDim)
            }
            return dot(x, toDouble(G))
        }
        var v = [String: [Double]](); for n in names { v[n] = toDouble(w[n]!.data) }
        var worst = 0.0
        for n in names {
            let fd = finiteDifferences(v[n]!, h: 1e-6) { t in var v2 = v; v2[n] = t; return loss(v2) }
            let e = scaledError(grads[n]!.data, fd)
            worst = max(worst, e)
            #expect(e <= 1e-5, "\(n): scaled error vs FD \(e)")
        }
        report("DynamicPosBias backward (pos_dim 4, 35 entries, 3 heads) vs FD: worst scaled error \(String(format: "%.1e", worst))")
    }
}

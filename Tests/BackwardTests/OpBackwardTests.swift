import Foundation
import SRIO
import Testing
@testable import SREngine

/// Op-level backward kernels: the fast Float kernel against its Float64 reference (scaled error ≤ 1e-5), the
/// reference against central finite differences of the Float64 reference forward (h = 1e-5, ≤ 1e-7), and the
/// Float64 reference forward against the engine's Float forward (≤ 1e-5), so the reference is of the op the engine
/// runs. Loss L = Σ y ⊙ G with G seeded Gaussian; sizes and seeds in each test.
let fastTolerance = 1e-5, fdTolerance = 1e-7, forwardTolerance = 1e-5

func report(_ s: String) { FileHandle.standardError.write((s + "\n").data(using: .utf8)!) }

@Suite struct OpBackward {
    @Test func linear() {
        let rows = 7, inF = 5, outF = 4   // seed 1, 2, 3, 4
        let x = gaussians(rows * inF, seed: 1), w = gaussians(outF * inF, seed: 2), b = gaussians(outF, seed: 3)
        let g = gaussians(rows * outF, seed: 4)
        var dW = [Float](repeating: 0, count: outF * inF), db = [Float](repeating: 0, count: outF)
        let dx = LinearBackward.backward(x: x, dy: g, rows: rows, weight: w, inFeatures: inF, outFeatures: outF, dW: &dW, db: &db)
        let ref = LinearBackward.reference(x: toDouble(x), dy: toDouble(g), rows: rows, weight: toDouble(w), inFeatures: inF, outFeatures: outF)
        let f = { (x: [Double], w: [Double], b: [Double]) in
            dot(LinearBackward.referenceForward(x: x, rows: rows, weight: w, bias: b, inFeatures: inF, outFeatures: outF), toDouble(g)) }
        let fdx = finiteDifferences(toDouble(x)) { f($0, toDouble(w), toDouble(b)) }
        let fdw = finiteDifferences(toDouble(w)) { f(toDouble(x), $0, toDouble(b)) }
        let fdb = finiteDifferences(toDouble(b)) { f(toDouble(x), toDouble(w), $0) }
        let engine = Linear(weight: Tensor(shape: [outF, inF], data: w), bias: Tensor(shape: [outF], data: b))
        var y = [Float](repeating: 0, count: rows * outF)
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in engine.apply(xp.baseAddress!, rows: rows, into: yp.baseAddress!) } }
        let yRef = LinearBackward.referenceForward(x: toDouble(x), rows: rows, weight: toDouble(w), bias: toDouble(b), inFeatures: inF, outFeatures: outF)
        check("linear", fast: [("dx", dx, ref.dx), ("dW", dW, ref.dW), ("db", db, ref.db)],
              fd: [("dx", ref.dx, fdx), ("dW", ref.dW, fdw), ("db", ref.db, fdb)], forward: (y, yRef))
    }

    @Test func layerNorm() {
        let rows = 6, C = 9   // seeds 11..14
        let x = gaussians(rows * C, seed: 11, scale: 2), gam = gaussians(C, seed: 12), bet = gaussians(C, seed: 13)
        let g = gaussians(rows * C, seed: 14)
        var dx = [Float](repeating: 0, count: rows * C), dg = [Float](repeating: 0, count: C), dbt = dg
        x.withUnsafeBufferPointer { xp in g.withUnsafeBufferPointer { gp in dx.withUnsafeMutableBufferPointer { d in
            dg.withUnsafeMutableBufferPointer { dgp in dbt.withUnsafeMutableBufferPointer { dbp in
                LayerNormBackward.backward(x: xp.baseAddress!, ldx: C, dy: gp.baseAddress!, ldy: C, rows: rows, gamma: gam,
                                           dx: d.baseAddress!, lddx: C, dGamma: dgp.baseAddress!, dBeta: dbp.baseAddress!)
            }}
        }}}
        let ref = LayerNormBackward.reference(x: toDouble(x), dy: toDouble(g), rows: rows, gamma: toDouble(gam))
        let f = { (x: [Double], ga: [Double], be: [Double]) in
            dot(LayerNormBackward.referenceForward(x: x, rows: rows, gamma: ga, beta: be), toDouble(g)) }
        let fdx = finiteDifferences(toDouble(x)) { f($0, toDouble(gam), toDouble(bet)) }
        let fdg = finiteDifferences(toDouble(gam)) { f(toDouble(x), $0, toDouble(bet)) }
        let fdb = finiteDifferences(toDouble(bet)) { f(toDouble(x), toDouble(gam), $0) }
        let y = LayerNorm(weight: gam, bias: bet).apply(x)
        check("layernorm", fast: [("dx", dx, ref.dx), ("dgamma", dg, ref.dGamma), ("dbeta", dbt, ref.dBeta)],
              fd: [("dx", ref.dx, fdx), ("dgamma", ref.dGamma, fdg), ("dbeta", ref.dBeta, fdb)],
              forward: (y, LayerNormBackward.referenceForward(x: toDouble(x), rows: rows, gamma: toDouble(gam), beta: toDouble(bet))))
    }

    @Test func pointwiseActivations() {
        let n = 64   // seeds 21, 22; x scaled by 3 (GELU's curved region and both tails)
        var x = gaussians(n, seed: 21, scale: 3)
        x = x.map { abs($0) < 1e-3 ? 0.5 : $0 }   // keep (Leaky)ReLU's kink out of the FD stencil
        let g = gaussians(n, seed: 22), xd = toDouble(x), gd = toDouble(g)
        typealias Fn = (Double) -> Double
        func fdOf(_ f: @escaping Fn) -> [Double] { finiteDifferences(xd) { v in dot(v.map(f), gd) } }
        func refOf(_ df: Fn) -> [Double] { zip(xd, gd).map { df($0) * $1 } }
        // GELU
        let gelu = ActivationBackward.gelu(x: x, dy: g), geluRef = refOf(ActivationBackward.geluDerivativeReference)
        check("gelu", fast: [("dx", gelu, geluRef)], fd: [("dx", geluRef, fdOf(ActivationBackward.geluReference))],
              forward: (Activations.gelu(x), xd.map(ActivationBackward.geluReference)))
        // sigmoid (backward from the output, as the model uses it)
        let s = x.map(Activations.sigmoid)
        let sig = ActivationBackward.sigmoid(output: s, dy: g), sigRef = refOf(ActivationBackward.sigmoidDerivativeReference)
        check("sigmoid", fast: [("dx", sig, sigRef)], fd: [("dx", sigRef, fdOf(ActivationBackward.sigmoidReference))],
              forward: (s, xd.map(ActivationBackward.sigmoidReference)))
        // LeakyReLU(0.2)
        var lr = x
        lr.withUnsafeMutableBufferPointer { Activations.leakyReLU($0.baseAddress!, count: n) }
        let leaky = ActivationBackward.leakyReLU(x: x, dy: g), leakyRef = refOf { ActivationBackward.leakyReLUDerivativeReference($0) }
        check("leakyrelu", fast: [("dx", leaky, leakyRef)], fd: [("dx", leakyRef, fdOf { ActivationBackward.leakyReLUReference($0) })],
              forward: (lr, xd.map { ActivationBackward.leakyReLUReference($0) }))
        // ReLU
        let relu = ActivationBackward.relu(x: x, dy: g), reluRef = refOf { ActivationBackward.leakyReLUDerivativeReference($0, slope: 0) }
        check("relu", fast: [("dx", relu, reluRef)], fd: [("dx", reluRef, fdOf { max($0, 0) })],
              forward: (x.map { max($0, 0) }, xd.map { max($0, 0) }))
    }

    @Test func softmaxRows() {
        let rows = 4, cols = 7   // seeds 31, 32
        let s = gaussians(rows * cols, seed: 31, scale: 2), g = gaussians(rows * cols, seed: 32)
        let p = Activations.softmaxRows(s, rows: rows, cols: cols)
        let fast = SoftmaxBackward.backward(probs: p, dy: g, rows: rows, cols: cols)
        let ref = SoftmaxBackward.reference(toDouble(s), dy: toDouble(g), rows: rows, cols: cols)
        let fd = finiteDifferences(toDouble(s)) { dot(SoftmaxBackward.referenceForward($0, rows: rows, cols: cols), toDouble(g)) }
        check("softmax", fast: [("dx", fast, ref)], fd: [("dx", ref, fd)],
              forward: (p, SoftmaxBackward.referenceForward(toDouble(s), rows: rows, cols: cols)))
    }

    @Test func batchNormEval() {
        let rows = 10, C = 5   // seeds 41..46
        let x = gaussians(rows * C, seed: 41), g = gaussians(rows * C, seed: 42)
        let bn = BatchNormEvalBackward(weight: gaussians(C, seed: 43), bias: gaussians(C, seed: 44),
                                       runningMean: gaussians(C, seed: 45), runningVar: gaussians(C, seed: 46).map { abs($0) + 0.1 })
        var dx = [Float](repeating: 0, count: rows * C), dg = [Float](repeating: 0, count: C), dbt = dg
        x.withUnsafeBufferPointer { xp in g.withUnsafeBufferPointer { gp in dx.withUnsafeMutableBufferPointer { d in
            dg.withUnsafeMutableBufferPointer { a in dbt.withUnsafeMutableBufferPointer { b in
                bn.backward(x: xp.baseAddress!, dy: gp.baseAddress!, rows: rows, dx: d.baseAddress!, dGamma: a.baseAddress!, dBeta: b.baseAddress!)
            }}
        }}}
        let ref = bn.reference(toDouble(x), dy: toDouble(g), rows: rows)
        let fdx = finiteDifferences(toDouble(x)) { dot(bn.referenceForward($0, rows: rows), toDouble(g)) }
        func withParams(_ w: [Double], _ b: [Double]) -> Double {
            dot(BatchNormEvalBackward.referenceForward(toDouble(x), rows: rows, weight: w, bias: b, runningMean: toDouble(bn.runningMean),
                                                       runningVar: toDouble(bn.runningVar)), toDouble(g))
        }
        let fdg = finiteDifferences(toDouble(bn.weight)) { withParams($0, toDouble(bn.bias)) }
        let fdb = finiteDifferences(toDouble(bn.bias)) { withParams(toDouble(bn.weight), $0) }
        var y = x
        let engine = BatchNormEval(weight: bn.weight, bias: bn.bias, runningMean: bn.runningMean, runningVar: bn.runningVar)
        y.withUnsafeMutableBufferPointer { engine.apply($0.baseAddress!, rows: rows) }
        check("batchnorm", fast: [("dx", dx, ref.dx), ("dgamma", dg, ref.dGamma), ("dbeta", dbt, ref.dBeta)],
              fd: [("dx", ref.dx, fdx), ("dgamma", ref.dGamma, fdg), ("dbeta", ref.dBeta, fdb)],
              forward: (y, bn.referenceForward(toDouble(x), rows: rows)))
    }

    struct ConvCase: Sendable, CustomStringConvertible {
        let k: Int, cin: Int, cout: Int, h: Int, w: Int, seed: Int
        var description: String { "\(k)x\(k) \(cin)->\(cout) on \(h)x\(w), seeds \(seed)..\(seed + 3)" }
    }

    @Test(arguments: [ConvCase(k: 3, cin: 4, cout: 3, h: 5, w: 6, seed: 51), ConvCase(k: 1, cin: 4, cout: 3, h: 5, w: 6, seed: 61),
                      ConvCase(k: 3, cin: 60, cout: 15, h: 6, w: 7, seed: 71), ConvCase(k: 3, cin: 3, cout: 60, h: 4, w: 5, seed: 81)])
    func denseConvolution(_ p: ConvCase) {
        let (k, cin, cout, h, w, seed) = (p.k, p.cin, p.cout, p.h, p.w, p.seed)
        let x = gaussians(h * w * cin, seed: UInt64(seed)), wt = gaussians(cout * cin * k * k, seed: UInt64(seed + 1), scale: 0.3)
        let b = gaussians(cout, seed: UInt64(seed + 2)), g = gaussians(h * w * cout, seed: UInt64(seed + 3))
        let conv = DenseConvBackward(weight: Tensor(shape: [cout, cin, k, k], data: wt))
        var dx = [Float](repeating: 0, count: h * w * cin), dW = [Float](repeating: 0, count: wt.count), db = [Float](repeating: 0, count: cout)
        x.withUnsafeBufferPointer { xp in g.withUnsafeBufferPointer { gp in dx.withUnsafeMutableBufferPointer { d in
            dW.withUnsafeMutableBufferPointer { a in db.withUnsafeMutableBufferPointer { bb in
                conv.inputGradient(gp.baseAddress!, height: h, width: w, into: d.baseAddress!)
                conv.parameterGradients(x: xp.baseAddress!, dy: gp.baseAddress!, height: h, width: w, dW: a.baseAddress!, db: bb.baseAddress!)
            }}
        }}}
        let ref = DenseConvBackward.reference(x: toDouble(x), dy: toDouble(g), weight: toDouble(wt), cin: cin, cout: cout, k: k, height: h, width: w)
        let f = { (x: [Double], w2: [Double], b2: [Double]) in
            dot(DenseConvBackward.referenceForward(x: x, weight: w2, bias: b2, cin: cin, cout: cout, k: k, height: h, width: w), toDouble(g)) }
        let every = max(1, wt.count / 200)   // FD on ≤ 200 weight coordinates
        let fdx = finiteDifferences(toDouble(x)) { f($0, toDouble(wt), toDouble(b)) }
        let idx = Array(stride(from: 0, to: wt.count, by: every))
        let fdw = finiteDifferences(toDouble(wt), indices: idx) { f(toDouble(x), $0, toDouble(b)) }
        let fdb = finiteDifferences(toDouble(b)) { f(toDouble(x), toDouble(wt), $0) }
        let y = Convolution.Dense(weight: Tensor(shape: [cout, cin, k, k], data: wt), bias: b).apply(x, height: h, width: w)
        check("conv\(k)x\(k) \(cin)->\(cout) \(h)x\(w)", fast: [("dx", dx, ref.dx), ("dW", dW, ref.dW), ("db", db, ref.db)],
              fd: [("dx", ref.dx, fdx), ("dW", idx.map { ref.dW[$0] }, idx.map { fdw[$0] }), ("db", ref.db, fdb)],
              forward: (y, DenseConvBackward.referenceForward(x: toDouble(x), weight: toDouble(wt), bias: toDouble(b), cin: cin, cout: cout, k: k, height: h, width: w)))
    }

    @Test func depthwiseConvolution() {
        let C = 4, h = 5, w = 7   // seeds 91..94; x read with a row stride of 3C (as v inside qkv)
        let ld = 3 * C
        let xs = gaussians(h * w * ld, seed: 91), wt = gaussians(C * 9, seed: 92), b = gaussians(C, seed: 93), g = gaussians(h * w * C, seed: 94)
        let x = (0..<(h * w)).flatMap { l in xs[(l * ld)..<(l * ld + C)] }
        let conv = DepthwiseConvBackward(weight: Tensor(shape: [C, 1, 3, 3], data: wt))
        var dx = [Float](repeating: 0, count: h * w * C), dW = [Float](repeating: 0, count: wt.count), db = [Float](repeating: 0, count: C)
        xs.withUnsafeBufferPointer { xp in g.withUnsafeBufferPointer { gp in dx.withUnsafeMutableBufferPointer { d in
            dW.withUnsafeMutableBufferPointer { a in db.withUnsafeMutableBufferPointer { bb in
                conv.inputGradient(gp.baseAddress!, height: h, width: w, into: d.baseAddress!)
                conv.parameterGradients(x: xp.baseAddress!, ldx: ld, dy: gp.baseAddress!, height: h, width: w, dW: a.baseAddress!, db: bb.baseAddress!)
            }}
        }}}
        let ref = DepthwiseConvBackward.reference(x: toDouble(x), dy: toDouble(g), weight: toDouble(wt), channels: C, height: h, width: w)
        let f = { (x: [Double], w2: [Double], b2: [Double]) in
            dot(DepthwiseConvBackward.referenceForward(x: x, weight: w2, bias: b2, channels: C, height: h, width: w), toDouble(g)) }
        let y = Convolution.Depthwise(weight: Tensor(shape: [C, 1, 3, 3], data: wt), bias: b).apply(x, height: h, width: w)
        check("depthwise", fast: [("dx", dx, ref.dx), ("dW", dW, ref.dW), ("db", db, ref.db)],
              fd: [("dx", ref.dx, finiteDifferences(toDouble(x)) { f($0, toDouble(wt), toDouble(b)) }),
                   ("dW", ref.dW, finiteDifferences(toDouble(wt)) { f(toDouble(x), $0, toDouble(b)) }),
                   ("db", ref.db, finiteDifferences(toDouble(b)) { f(toDouble(x), toDouble(wt), $0) })],
              forward: (y, DepthwiseConvBackward.referenceForward(x: toDouble(x), weight: toDouble(wt), bias: toDouble(b), channels: C, height: h, width: w)))
    }

    /// Pixel shuffle moves values, so its backward must be the exact adjoint: ⟨F(eᵢ), g⟩ = Fᵀ(g)ᵢ for every unit
    /// vector eᵢ (the finite difference of the linear map ⟨F(x), g⟩ with step 1, evaluated exactly through the engine).
    @Test func pixelShuffleAndPooling() {
        let h = 3, w = 4, c = 3, s = 2   // seeds 102 (g), 103, 104
        let n = h * w * c * s * s, g = gaussians(c * h * s * w * s, seed: 102)
        let back = PixelShuffleBackward.backward(g, height: h, width: w, outChannels: c, scale: s)
        let fd = (0..<n).map { i -> Double in
            var e = [Float](repeating: 0, count: n); e[i] = 1
            return dot(toDouble(PixelShuffle.toNCHW(e, height: h, width: w, outChannels: c, scale: s)), toDouble(g))
        }
        let e1 = scaledError(back, fd)
        #expect(e1 == 0, "pixel shuffle backward vs exact adjoint: \(e1)")
        let L = 11, C = 5
        let xp = gaussians(L * C, seed: 103), gp = gaussians(C, seed: 104)
        let pool = AveragePoolBackward.backward(gp, tokens: L)
        let fdp = finiteDifferences(toDouble(xp)) { dot(AveragePoolBackward.referenceForward($0, tokens: L, channels: C), toDouble(gp)) }
        let e2 = scaledError(pool, fdp)
        #expect(e2 <= 1e-6, "average pool backward vs FD: \(e2)")
        let e3 = scaledError(ChannelOps.columnMeans(xp, rows: L, cols: C), AveragePoolBackward.referenceForward(toDouble(xp), tokens: L, channels: C))
        #expect(e3 <= forwardTolerance, "average pool reference forward vs engine: \(e3)")
        report("pixelshuffle dx vs FD \(e1); avgpool dx vs FD \(e2), forward \(e3)")
    }
}

/// Records the three comparisons with their thresholds.
func check(_ name: String, fast: [(String, [Float], [Double])], fd: [(String, [Double], [Double])],
           forward: ([Float], [Double]), fdTol: Double = fdTolerance) {
    var parts: [String] = []
    for (n, a, r) in fast {
        let e = scaledError(a, r)
        parts.append("fast \(n) \(String(format: "%.1e", e))")
        #expect(e <= fastTolerance, "\(name) \(n): fast vs Float64 reference scaled error \(e) > \(fastTolerance)")
    }
    for (n, r, f) in fd {
        let e = scaledError(r, f)
        parts.append("fd \(n) \(String(format: "%.1e", e))")
        #expect(e <= fdTol, "\(name) \(n): Float64 reference vs finite differences scaled error \(e) > \(fdTol)")
    }
    let e = scaledError(forward.0, forward.1)
    parts.append("forward \(String(format: "%.1e", e))")
    #expect(e <= forwardTolerance, "\(name): Float64 reference forward vs engine forward scaled error \(e) > \(forwardTolerance)")
    report("backward \(name): " + parts.joined(separator: ", "))
}

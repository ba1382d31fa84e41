import CKernels
import HarmoQ

/// A Linear site with quantized weight and input on centred grids (symmetric, or affine with an integer zero point z:
/// x̂ = (q − z)·Δ = c·Δ), fake-quantized exactly in the code domain:
///
///     y[i, o] = fl( fl(s[o] · S[i, o]) + b[o] ),   s[o] = fl(Δx · Δw[o]),   S[i, o] = Σ_p cx[i, p] · cw[o, p]
///
/// with cx = `Quantizer.centredCode(x ⊘ inputScale)` (= code − z) and cw the centred weight codes, both held as
/// integer-valued Floats, and S
/// from the engine's fast float GEMM. That is Q_w(W)·Q_x(x) + b with the scale applied once per output: the same
/// Float operations, in the same order, as the integer epilogue (`cik_linear_s8_packed`: Δx·Δw[o] in Float, one
/// multiply of the exact sum, then one add of the bias, never fused), so integer execution reproduces it bit for bit.
///
/// Exactness of S (`partialSumBound`): every product |cx·cw| and every partial sum of any subset of the k products
/// is an integer of magnitude ≤ Mx·max_o Σ_p |cw[o, p]| with Mx = max |cx| (2^(bx−1) symmetric, max(z, 2^b − 1 − z)
/// with a zero point). While that bound is ≤ 2²⁴,
/// every such integer is a Float, so each multiply, add or fused multiply-add of the GEMM is exact whatever its order
/// and blocking: S is the exact integer sum. `init` refuses a site whose bound exceeds 2²⁴ (it then stays in the
/// float fake-quant path).
public final class CodeDomainLinear: @unchecked Sendable {
    /// Largest |integer| every Float represents exactly.
    public static let exactLimit: Int64 = 1 << 24

    public let activation: Quantizer
    public let inFeatures: Int
    public let outFeatures: Int
    /// s[o] = fl(Δx·Δw[o]).
    public let outputScales: [Float]
    public let bias: [Float]?
    /// Per-input-channel divisor applied before quantization (HSO); nil = 1.
    public let inputScale: [Float]?
    /// Mx·max_o Σ_p |cw[o, p]|: a bound on |every partial sum| of the GEMM (≤ 2²⁴).
    public let partialSumBound: Int64
    let packed: GEMM.Packed

    /// weightCodes: out × in centred integer codes (Ŵ = code·Δw); weightSteps: Δw per output row. Throws when the
    /// activation quantizer is affine with a float zero point, a shape or step is wrong, or the partial sums could leave
    /// the exact range of Float.
    public init(activation: Quantizer, weightCodes: [Int32], weightSteps: [Float], outFeatures: Int, inFeatures: Int,
                bias: [Float]?, inputScale: [Float]? = nil) throws {
        guard activation.isCentred else {
            throw EngineError("code-domain Linear needs a symmetric or integer-zero-point activation quantizer, got \(activation.scheme) with a float zero point")
        }
        guard outFeatures > 0, inFeatures > 0, weightCodes.count == outFeatures * inFeatures,
              weightSteps.count == outFeatures else {
            throw EngineError("code-domain Linear: \(weightCodes.count) codes and \(weightSteps.count) steps for \(outFeatures)×\(inFeatures)")
        }
        guard weightSteps.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw EngineError("code-domain Linear: weight steps must be finite and positive")
        }
        if let b = bias, b.count != outFeatures { throw EngineError("code-domain Linear: bias has \(b.count) entries for \(outFeatures) outputs") }
        if let s = inputScale, s.count != inFeatures { throw EngineError("code-domain Linear: input scale has \(s.count) entries for \(inFeatures) inputs") }
        let mx = Swift.max(-Int64(activation.centredCodeMin), Int64(activation.centredCodeMax))
        var worst: Int64 = 0
        for o in 0..<outFeatures {
            var a: Int64 = 0
            for p in 0..<inFeatures { a += Swift.abs(Int64(weightCodes[o * inFeatures + p])) }
            worst = Swift.max(worst, a)
        }
        let bound = mx * worst
        guard bound <= Self.exactLimit else {
            throw EngineError("code-domain Linear: partial sums may reach \(bound) > 2^24 (\(activation.bits)-bit input, k = \(inFeatures)); not exact in Float")
        }
        self.activation = activation
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        let dx = activation.step
        outputScales = weightSteps.map { dx * $0 }
        self.bias = bias
        self.inputScale = inputScale
        partialSumBound = bound
        packed = GEMM.Packed(transposeOf: weightCodes.map { Float($0) }, rows: outFeatures, cols: inFeatures)
    }

    /// Rows of codes per block (the block's codes stay in cache between the GEMM and the epilogue).
    static let block = 48

    /// out (rows × out, row stride ldo) from x (rows × in, row stride ldx). Rows are split over `Parallel.threads`
    /// when `parallel` and the product is big enough (as the float GEMM does); the result does not depend on it.
    public func apply(_ x: UnsafePointer<Float>, ldx: Int? = nil, rows: Int, into out: UnsafeMutablePointer<Float>,
                      ldo: Int? = nil, parallel: Bool = true) {
        let k = inFeatures, n = outFeatures
        let ldx = ldx ?? k, ldo = ldo ?? n
        precondition(ldx >= k && ldo >= n)
        guard rows > 0 else { return }
        let run: (Range<Int>) -> Void = { r in self.run(x, ldx: ldx, rows: r, out: out, ldo: ldo) }
        if parallel && Parallel.threads > 1 && rows >= 12 && rows * n * k >= GEMM.parallelThreshold {
            Parallel.ranges(rows, minPerChunk: 6, align: 6, oversplit: 2) { run($0) }
        } else {
            run(0..<rows)
        }
    }

    private func run(_ x: UnsafePointer<Float>, ldx: Int, rows: Range<Int>, out: UnsafeMutablePointer<Float>, ldo: Int) {
        let k = inFeatures, n = outFeatures
        let cap = Swift.min(Self.block, rows.count) * k
        let codes = UnsafeMutablePointer<Float>.allocate(capacity: cap)
        defer { codes.deallocate() }
        var i = rows.lowerBound
        while i < rows.upperBound {
            let m = Swift.min(Self.block, rows.upperBound - i)
            if let s = inputScale {
                s.withUnsafeBufferPointer { sp in
                    BulkQuantization.codes(activation, x: x + i * ldx, ldx: ldx, rows: m, cols: k, divideBy: sp.baseAddress,
                                           into: codes, ldo: k)
                }
            } else {
                BulkQuantization.codes(activation, x: x + i * ldx, ldx: ldx, rows: m, cols: k, divideBy: nil, into: codes, ldo: k)
            }
            let y = out + i * ldo
            GEMM.multiply(m: m, a: codes, lda: k, packed: packed, c: y, ldc: ldo, parallel: false)
            epilogue(y, ldo: ldo, rows: m, n: n)
            i += m
        }
    }

    /// y ← fl(fl(s[o]·(S + 0)) + b[o]): separate Swift multiply and add (Swift never fuses them), as the integer
    /// epilogue's `t = scale·(float)S; y = t + bias`; `+ 0` is exact and gives +0 for an all-zero sum, as int→float.
    @inline(__always)
    private func epilogue(_ y: UnsafeMutablePointer<Float>, ldo: Int, rows: Int, n: Int) {
        outputScales.withUnsafeBufferPointer { sp in
            let s = sp.baseAddress!
            if let b = bias {
                b.withUnsafeBufferPointer { bp in
                    let bb = bp.baseAddress!
                    for r in 0..<rows {
                        let yr = y + r * ldo
                        for o in 0..<n {
                            let t = s[o] * (yr[o] + 0)
                            yr[o] = t + bb[o]
                        }
                    }
                }
            } else {
                for r in 0..<rows {
                    let yr = y + r * ldo
                    for o in 0..<n { yr[o] = s[o] * (yr[o] + 0) }
                }
            }
        }
    }

    /// Array convenience: rows × out.
    public func apply(_ x: [Float], rows: Int, parallel: Bool = false) -> [Float] {
        precondition(x.count == rows * inFeatures)
        var y = [Float](repeating: 0, count: rows * outFeatures)
        x.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { py in
            apply(px.baseAddress!, rows: rows, into: py.baseAddress!, parallel: parallel)
        } }
        return y
    }
}

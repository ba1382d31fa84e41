import CKernels
import HarmoQ

/// Bulk quantization of Float buffers with a HarmoQ `Quantizer`, in C (`ck_fake_quant_sym`, `ck_quant_codes`,
/// vectorised, ISA chosen at load time) and split over `Parallel.threads` for big buffers.
///
/// Bit-identical, element by element, to the core's definitions: `fakeQuantInPlace` equals
/// `QuantKernel(q).fakeQuantInPlace` (and `QuantKernel(q).fakeQuant` / `Quantizer.fakeQuant` per element), `codes`
/// equals `Float(q.code(x ⊘ s))` (EngineTests/BulkQuantizationTests, adversarial values included). The core itself
/// stays free of C; this is the engine-side fast path for hooks and the code-domain executor.
public enum BulkQuantization {
    /// Elements per parallel chunk (smaller buffers run on the calling thread).
    public static let chunk = 1 << 15

    /// xs ← Q(xs), or xs ← Q(xs ⊘ divideBy) with element i divided by divideBy[i mod divideBy.count].
    public static func fakeQuantInPlace(_ q: Quantizer, _ xs: UnsafeMutableBufferPointer<Float>,
                                        divideBy scale: [Float]? = nil, parallel: Bool = true) {
        guard let base = xs.baseAddress, xs.count > 0 else { return }
        let period = scale?.isEmpty == false ? scale!.count : 0
        let run: (Range<Int>) -> Void = { r in
            if let s = scale, period > 0 {
                s.withUnsafeBufferPointer { sp in one(q, base + r.lowerBound, r.count, sp.baseAddress, period) }
            } else {
                one(q, base + r.lowerBound, r.count, nil, 0)
            }
        }
        if parallel && xs.count >= 2 * chunk && Parallel.threads > 1 {
            // Chunks start on a multiple of the divisor period, so element i still meets divideBy[i mod period].
            Parallel.ranges(xs.count, minPerChunk: chunk, align: Swift.max(16, period)) { run($0) }
        } else {
            run(0..<xs.count)
        }
    }

    /// One contiguous run starting at a multiple of `period`.
    private static func one(_ q: Quantizer, _ p: UnsafeMutablePointer<Float>, _ n: Int,
                            _ divisor: UnsafePointer<Float>?, _ period: Int) {
        let lo = Float(q.codeMin), hi = Float(q.codeMax), even: Int32 = q.rounding == .halfToEven ? 1 : 0
        if q.isCentred {
            // Symmetric, or affine with an integer zero point: x̂ = c·Δ, c = clip(round(x/Δ), centred code range).
            ck_fake_quant_sym(p, n, q.step, Float(q.centredCodeMin), Float(q.centredCodeMax), even, divisor, period)
            return
        }
        // Affine: codes in C into an L1-sized scratch block, then x̂ = code·Δ + α here (Swift never fuses this
        // multiply and add; C under this target's -ffp-contract=fast would). NaN gives α, as `Quantizer.code`.
        let st = q.step, lw = q.lower
        let block = period > 0 ? Swift.max(1, 4096 / period) * period : 4096
        withUnsafeTemporaryAllocation(of: Float.self, capacity: Swift.min(block, n)) { tmp in
            let t = tmp.baseAddress!
            var i = 0
            while i < n {
                let len = Swift.min(block, n - i)
                if period > 0 {
                    let rows = len / period, tail = len - rows * period
                    if rows > 0 {
                        ck_quant_codes(p + i, Int32(period), Int32(rows), Int32(period), st, lo, hi, even, 1, q.lower, q.upper,
                                       divisor, t, Int32(period))
                    }
                    if tail > 0 {
                        ck_quant_codes(p + i + rows * period, Int32(tail), 1, Int32(tail), st, lo, hi, even, 1, q.lower, q.upper,
                                       divisor, t + rows * period, Int32(tail))
                    }
                } else {
                    ck_quant_codes(p + i, Int32(len), 1, Int32(len), st, lo, hi, even, 1, q.lower, q.upper, nil, t, Int32(len))
                }
                let o = p + i
                for j in 0..<len {
                    let c = t[j]
                    let v = c * st + lw
                    o[j] = c.isNaN ? lw : v
                }
                i += len
            }
        }
    }

    /// Centred codes of x as integer-valued Floats: out[r·ldo + j] = Float(q.centredCode(x[r·ldx + j] / divideBy[j]))
    /// (or of x[r·ldx + j] when `divideBy` is nil), rows × cols — for symmetric quantizers the codes, for an integer
    /// zero point q − z. Float-zero-point affine quantizers are refused (precondition).
    public static func codes(_ q: Quantizer, x: UnsafePointer<Float>, ldx: Int, rows: Int, cols: Int,
                             divideBy: UnsafePointer<Float>?, into out: UnsafeMutablePointer<Float>, ldo: Int) {
        precondition(q.isCentred, "BulkQuantization.codes: symmetric or integer-zero-point quantizers only")
        guard rows > 0, cols > 0 else { return }
        ck_quant_codes(x, Int32(ldx), Int32(rows), Int32(cols), q.step, Float(q.centredCodeMin), Float(q.centredCodeMax),
                       q.rounding == .halfToEven ? 1 : 0, 0, q.lower, q.upper, divideBy, out, Int32(ldo))
    }
}

import CIntKernels
import HarmoQ

/// Per-tensor activation quantization to int8 kernel codes, in C (`cik_quantize_s8_shifted`).
///
/// * Symmetric quantizers: the code itself, `Quantizer.code(x)`.
/// * Affine quantizers with an integer zero point z: the unsigned code moved into the signed range,
///   `Quantizer.code(x) − 2^(b−1)`; `IntegerLinear` folds the zero point back in its epilogue
///   (Σ_p cw·(q − z) = Σ_p cw·a + (2^(b−1) − z)·Σ_p cw, the second term precomputed per output row).
///
/// The same division, rounding and clamp as `Quantizer.code`, for quantizers of at most 8 bits; `reference` is the
/// definition, element by element.
public enum ActivationCodes {
    static func check(_ q: Quantizer) throws {
        guard q.isCentred, q.bits <= 8 else {
            throw IntegerError("integer activations need a symmetric or integer-zero-point quantizer of ≤ 8 bits, got \(q.scheme) "
                               + "\(q.bits) bits\(q.scheme == .affine ? " with a float zero point (calibrate with --zero-point integer; `--method 2dquant` keeps the official float zero point and has no integer form)" : "")")
        }
    }

    /// kernel code − centred code: 0 (symmetric) or z − 2^(b−1).
    static func shift(_ q: Quantizer) -> Int32 {
        guard let z = q.zeroPoint else { return 0 }
        return z - Int32(1 << (q.bits - 1))
    }

    public static func quantize(_ x: UnsafeBufferPointer<Float>, _ q: Quantizer, into out: UnsafeMutableBufferPointer<Int8>) throws {
        try check(q)
        precondition(out.count >= x.count)
        guard x.count > 0 else { return }
        cik_quantize_s8_shifted(x.baseAddress!, x.count, q.step, q.centredCodeMin, q.centredCodeMax, shift(q),
                                q.rounding == .halfToEven ? 1 : 0, out.baseAddress!)
    }

    public static func quantize(_ x: [Float], _ q: Quantizer) throws -> [Int8] {
        var out = [Int8](repeating: 0, count: x.count)
        try x.withUnsafeBufferPointer { xp in try out.withUnsafeMutableBufferPointer { try quantize(xp, q, into: $0) } }
        return out
    }

    /// The definition: Int8(q.code(x)) (symmetric) or Int8(q.code(x) − 2^(b−1)) (integer zero point).
    public static func reference(_ x: [Float], _ q: Quantizer) -> [Int8] {
        let off: Int32 = q.zeroPoint == nil ? 0 : Int32(1 << (q.bits - 1))
        return x.map { Int8(q.code($0) - off) }
    }
}

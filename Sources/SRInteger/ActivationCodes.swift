import CIntKernels
import HarmoQ

/// Per-tensor symmetric activation quantization to int8 codes, in C (cik_quantize_s8).
///
/// Produces exactly `Quantizer.code(x)` for every x (same division, rounding and clamp), for symmetric
/// quantizers of at most 8 bits; `reference` is that definition, element by element.
public enum ActivationCodes {
    static func check(_ q: Quantizer) throws {
        guard q.scheme == .symmetric, q.bits <= 8 else {
            throw IntegerError("integer activations need a symmetric quantizer of ≤ 8 bits, got \(q.scheme) \(q.bits) bits")
        }
    }

    public static func quantize(_ x: UnsafeBufferPointer<Float>, _ q: Quantizer, into out: UnsafeMutableBufferPointer<Int8>) throws {
        try check(q)
        precondition(out.count >= x.count)
        guard x.count > 0 else { return }
        cik_quantize_s8(x.baseAddress!, x.count, q.step, q.codeMin, q.codeMax,
                        q.rounding == .halfToEven ? 1 : 0, out.baseAddress!)
    }

    public static func quantize(_ x: [Float], _ q: Quantizer) throws -> [Int8] {
        var out = [Int8](repeating: 0, count: x.count)
        try x.withUnsafeBufferPointer { xp in try out.withUnsafeMutableBufferPointer { try quantize(xp, q, into: $0) } }
        return out
    }

    /// The definition: Int8(q.code(x)).
    public static func reference(_ x: [Float], _ q: Quantizer) -> [Int8] { x.map { Int8(q.code($0)) } }
}

import CIntKernels

/// int8 × packed-int{8,4,3,2} → int32 GEMM: C[i, o] = Σ_p A[i, p]·W[o, p], exact.
///
/// Kernels (chosen at run time with `__builtin_cpu_supports` unless one is named):
/// AVX-512 VNNI (vpdpbusd, offset-128 trick), AVX2 (vpmaddwd on sign-extended int16), and the
/// plain reference loop. Low-bit weights are unpacked one 32-output panel at a time.
public enum IntegerGEMM {
    public enum ISA: Int32, CaseIterable, Sendable, CustomStringConvertible {
        case reference = 0, avx2 = 1, avx512vnni = 2
        public var isSupported: Bool { cik_isa_supported(rawValue) == 1 }
        public static var best: ISA { ISA(rawValue: cik_isa_best()) ?? .reference }
        public var description: String {
            switch self { case .reference: "reference"; case .avx2: "AVX2"; case .avx512vnni: "AVX-512 VNNI" }
        }
    }

    /// Scratch buffer for one call (or one thread).
    final class Scratch {
        let raw: UnsafeMutableRawPointer
        init(n: Int, k: Int) { raw = .allocate(byteCount: cik_gemm_scratch_bytes(Int32(n), Int32(k)), alignment: 64) }
        deinit { raw.deallocate() }
    }

    /// Plain triple loop on unpacked int8 W (n × k): the oracle.
    public static func reference(m: Int, n: Int, k: Int, a: [Int8], w: [Int8]) -> [Int32] {
        precondition(a.count == m * k && w.count == n * k)
        var c = [Int32](repeating: 0, count: m * n)
        guard m > 0, n > 0 else { return c }
        a.withUnsafeBufferPointer { pa in w.withUnsafeBufferPointer { pw in c.withUnsafeMutableBufferPointer { pc in
            cik_gemm_s8_reference(Int32(m), Int32(n), Int32(k), pa.baseAddress, Int32(k), pw.baseAddress, Int32(k),
                                  pc.baseAddress, Int32(n))
        } } }
        return c
    }

    /// A (m × k int8) times the packed weight's transpose, with kernel `isa`.
    public static func multiply(m: Int, a: [Int8], weight: PackedLinearWeight, isa: ISA = .best) throws -> [Int32] {
        let k = weight.inFeatures, n = weight.outFeatures
        precondition(a.count == m * k)
        guard isa.isSupported else { throw IntegerError("\(isa) kernel is not supported on this CPU") }
        var c = [Int32](repeating: 0, count: m * n)
        let scratch = Scratch(n: n, k: k)
        let rc = a.withUnsafeBufferPointer { pa in weight.bytes.withUnsafeBufferPointer { pw in c.withUnsafeMutableBufferPointer { pc in
            cik_gemm_s8_packed(isa.rawValue, Int32(m), Int32(n), Int32(k), pa.baseAddress, Int32(k), Int32(weight.bits),
                               pw.baseAddress, weight.rowBytes, scratch.raw, pc.baseAddress, Int32(n))
        } } }
        guard rc == 0 else { throw IntegerError("integer GEMM refused m=\(m) n=\(n) k=\(k) bits=\(weight.bits) isa=\(isa)") }
        return c
    }
}

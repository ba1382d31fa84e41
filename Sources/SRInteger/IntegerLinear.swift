import CIntKernels
import HarmoQ
import SREngine

/// A Linear site executed in integers: y[i, o] = (Δx·Δw[o]) · Σ_p qx[i, p]·qw[o, p] + b[o].
///
/// qx = per-tensor symmetric codes of the input (`activation`), qw = the packed per-channel codes.
/// The int32 sum is exact; the only float operations are Δx·Δw[o] (once per output channel), one
/// multiply of the converted sum and one add of the bias.
public final class IntegerLinear: @unchecked Sendable {
    public let weight: PackedLinearWeight
    public let bias: [Float]?
    public let activation: Quantizer
    public let isa: IntegerGEMM.ISA
    /// Δx·Δw[o] in Float.
    public let outputScales: [Float]

    public init(weight: PackedLinearWeight, bias: [Float]?, activation: Quantizer, isa: IntegerGEMM.ISA = .best) throws {
        try ActivationCodes.check(activation)
        guard isa.isSupported else { throw IntegerError("\(isa) kernel is not supported on this CPU") }
        if let b = bias, b.count != weight.outFeatures {
            throw IntegerError("bias has \(b.count) entries for \(weight.outFeatures) outputs")
        }
        self.weight = weight
        self.bias = bias
        self.activation = activation
        self.isa = isa
        let dx = activation.step
        outputScales = weight.scales.map { dx * $0 }
    }

    /// out (rows × out, row stride `ldo`, default out) from x (rows × in, row stride `ldx`, default in).
    /// Rows are split over `Parallel.threads` when `parallel` (each chunk unpacks the panels itself); the
    /// result does not depend on the split.
    public func apply(_ x: UnsafePointer<Float>, ldx: Int? = nil, rows: Int, into out: UnsafeMutablePointer<Float>,
                      ldo: Int? = nil, parallel: Bool = false) {
        let k = weight.inFeatures, n = weight.outFeatures
        let ldx = ldx ?? k, ldo = ldo ?? n
        precondition(ldx >= k && ldo >= n)
        guard rows > 0 else { return }
        let codes = UnsafeMutablePointer<Int8>.allocate(capacity: rows * k)
        defer { codes.deallocate() }
        if ldx == k {
            try! ActivationCodes.quantize(UnsafeBufferPointer(start: x, count: rows * k), activation,
                                          into: UnsafeMutableBufferPointer(start: codes, count: rows * k))
        } else {
            for r in 0..<rows {
                try! ActivationCodes.quantize(UnsafeBufferPointer(start: x + r * ldx, count: k), activation,
                                              into: UnsafeMutableBufferPointer(start: codes + r * k, count: k))
            }
        }
        let run: (Range<Int>) -> Void = { r in
            let scratch = IntegerGEMM.Scratch(n: n, k: k)
            let rc = self.weight.bytes.withUnsafeBufferPointer { pw in self.outputScales.withUnsafeBufferPointer { ps in
                self.withBias { pb in
                    cik_linear_s8_packed(self.isa.rawValue, Int32(r.count), Int32(n), Int32(k), codes + r.lowerBound * k, Int32(k),
                                         Int32(self.weight.bits), pw.baseAddress, self.weight.rowBytes, scratch.raw,
                                         ps.baseAddress, pb, out + r.lowerBound * ldo, Int32(ldo))
                } } }
            precondition(rc == 0, "integer linear kernel refused its arguments")
        }
        if parallel && Parallel.threads > 1 && rows >= 16 {
            Parallel.ranges(rows, minPerChunk: 8, align: 8) { run($0) }
        } else {
            run(0..<rows)
        }
    }

    /// Array convenience: rows × out.
    public func apply(_ x: [Float], rows: Int, parallel: Bool = false) -> [Float] {
        precondition(x.count == rows * weight.inFeatures)
        var y = [Float](repeating: 0, count: rows * weight.outFeatures)
        x.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { py in
            apply(px.baseAddress!, rows: rows, into: py.baseAddress!, parallel: parallel)
        } }
        return y
    }

    private func withBias<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let b = bias else { return body(nil) }
        return b.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}

import CIntKernels
import HarmoQ
import SREngine

/// A Linear site executed in integers: y[i, o] = (Δx·Δw[o]) · Σ_p cx[i, p]·cw[o, p] + b[o].
///
/// cw = the packed per-channel (centred) weight codes; cx = the centred codes of the input under the per-tensor
/// `activation` quantizer: symmetric codes, or q − z for an affine grid with an integer zero point z. In the latter
/// case the kernel reads a = q − 2^(b−1) (int8) and the zero-point term is folded into the epilogue:
/// Σ_p cw·(q − z) = Σ_p cw·a + (2^(b−1) − z)·Σ_p cw[o, p], the second term (`columnOffsets`) precomputed per row of W.
/// The int32 sum is exact; the only float operations are Δx·Δw[o] (once per output channel), one
/// multiply of the converted sum and one add of the bias.
///
/// Kernels: on AVX2 (`isa == .avx2`) the weight codes are packed once, here, as int16 panels and `cik_linear16`
/// quantizes the rows inside the kernel (16-bit `vpmaddwd`, docs/integer.md "Kernels"); the other ISAs run
/// `cik_linear_s8_packed_offset`, which unpacks the dense codes into panels on every call.
public final class IntegerLinear: @unchecked Sendable {
    public let weight: PackedLinearWeight
    public let bias: [Float]?
    public let activation: Quantizer
    public let isa: IntegerGEMM.ISA
    /// Δx·Δw[o] in Float.
    public let outputScales: [Float]
    /// (2^(b−1) − z)·Σ_p cw[o, p] per output for an integer-zero-point activation; nil for symmetric activations.
    public let columnOffsets: [Int32]?
    /// The AVX2 kernel's weight: the codes as int16 panels, packed once here (`cik_pack_panels16`); nil for the other ISAs.
    let panels16: [Int16]?

    public init(weight: PackedLinearWeight, bias: [Float]?, activation: Quantizer, isa: IntegerGEMM.ISA = .best) throws {
        try ActivationCodes.check(activation)
        guard isa.isSupported else { throw IntegerError("\(isa) kernel is not supported on this CPU") }
        if let b = bias, b.count != weight.outFeatures {
            throw IntegerError("bias has \(b.count) entries for \(weight.outFeatures) outputs")
        }
        let mutant = IntegerEpilogueMutant.active   // test seam: `.none` except inside `IntegerEpilogueMutant.withActive`
        self.weight = weight
        self.bias = mutant == .biasDropped ? nil : bias
        self.activation = activation
        self.isa = isa
        let dx = activation.step
        outputScales = weight.scales.map { mutant == .outputScaleWithoutActivationStep ? $0 : dx * $0 }
        if let z = activation.zeroPoint {
            var c = Int64(1 << (activation.bits - 1)) - Int64(z)
            if mutant == .zeroPointTermSignFlipped { c = -c } else if mutant == .zeroPointTermDropped { c = 0 }
            let codes = weight.codes(), k = weight.inFeatures
            var offs = [Int32](repeating: 0, count: weight.outFeatures)
            for o in 0..<weight.outFeatures {
                var s: Int64 = 0, a: Int64 = 0
                for p in 0..<k { s += Int64(codes[o * k + p]); a += abs(Int64(codes[o * k + p])) }
                // |every intermediate of the epilogue| ≤ 128·a (the kernel's sum) + |offset| < 2^31.
                guard 128 * a + abs(c * s) < Int64(Int32.max) else {
                    throw IntegerError("zero-point term of output \(o) may leave int32 (Σ|cw| = \(a), z = \(z))")
                }
                offs[o] = Int32(c * s)
            }
            columnOffsets = offs
        } else {
            columnOffsets = nil
        }
        if isa == .avx2 {
            let w8 = weight.codes().map { Int8($0) }
            var p = [Int16](repeating: 0, count: cik_panels16_count(Int32(weight.outFeatures), Int32(weight.inFeatures)))
            w8.withUnsafeBufferPointer { pw in p.withUnsafeMutableBufferPointer { pp in
                cik_pack_panels16(Int32(weight.outFeatures), Int32(weight.inFeatures), pw.baseAddress, Int32(weight.inFeatures), pp.baseAddress)
            }}
            panels16 = p
        } else {
            panels16 = nil
        }
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
        if let panels16 {
            // AVX2: each row chunk quantizes its own rows inside the kernel (no whole-input code buffer).
            let q = activation, shift = ActivationCodes.shift(q), even: Int32 = q.rounding == .halfToEven ? 1 : 0
            let run: (Range<Int>) -> Void = { r in
                let rc = panels16.withUnsafeBufferPointer { pw in self.outputScales.withUnsafeBufferPointer { ps in
                    self.withBias { pb in self.withOffsets { po in
                        cik_linear16(Int32(r.count), Int32(n), Int32(k), x + r.lowerBound * ldx, ldx, q.step, q.centredCodeMin,
                                     q.centredCodeMax, shift, even, pw.baseAddress, po, ps.baseAddress, pb,
                                     out + r.lowerBound * ldo, ldo)
                    } } } }
                precondition(rc == 0, "integer linear kernel (AVX2) refused its arguments")
            }
            if parallel && Parallel.threads > 1 && rows >= 192 {
                Parallel.ranges(rows, minPerChunk: 96, align: 6) { run($0) }
            } else {
                run(0..<rows)
            }
            return
        }
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
                self.withBias { pb in self.withOffsets { po in
                    cik_linear_s8_packed_offset(self.isa.rawValue, Int32(r.count), Int32(n), Int32(k), codes + r.lowerBound * k, Int32(k),
                                                Int32(self.weight.bits), pw.baseAddress, self.weight.rowBytes, scratch.raw,
                                                po, ps.baseAddress, pb, out + r.lowerBound * ldo, Int32(ldo))
                } } } }
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

    private func withOffsets<R>(_ body: (UnsafePointer<Int32>?) -> R) -> R {
        guard let c = columnOffsets else { return body(nil) }
        return c.withUnsafeBufferPointer { body($0.baseAddress) }
    }

    /// The slow, obviously-correct form of `apply` (one output at a time, Int64 sums of centred codes from
    /// `Quantizer.code`, no kernel, no offsets): y = fl(fl(Δx·Δw[o])·Float(Σ_p (q − z)·cw) + b). `apply` must equal it
    /// bit for bit (IntegerTests).
    public func reference(_ x: [Float], rows: Int) -> [Float] {
        let k = weight.inFeatures, n = weight.outFeatures
        precondition(x.count == rows * k)
        let w = weight.codes()
        let z = activation.zeroPoint ?? 0
        var y = [Float](repeating: 0, count: rows * n)
        for i in 0..<rows {
            let cx = (0..<k).map { Int64(activation.code(x[i * k + $0]) - z) }
            for o in 0..<n {
                var s: Int64 = 0
                for p in 0..<k { s += cx[p] * Int64(w[o * k + p]) }
                let t = outputScales[o] * Float(s)
                y[i * n + o] = bias.map { t + $0[o] } ?? t
            }
        }
        return y
    }

    private func withBias<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let b = bias else { return body(nil) }
        return b.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}

import HarmoQ
import SRIO

/// A Linear weight W (out × in) as symmetric b-bit codes packed densely (`BitPacking`), with one
/// Float step Δw[o] per output channel: Ŵ[o, k] = Float(q[o, k]) · Δw[o].
public struct PackedLinearWeight: Sendable, Equatable {
    public let bits: Int
    public let outFeatures: Int
    public let inFeatures: Int
    /// ⌈in·b/8⌉ bytes per output row.
    public let rowBytes: Int
    public let bytes: [UInt8]
    /// Δw[o], the per-output-channel step.
    public let scales: [Float]

    public init(bits: Int, outFeatures: Int, inFeatures: Int, bytes: [UInt8], scales: [Float]) throws {
        try BitPacking.checkBits(bits)
        let rb = BitPacking.rowBytes(bits: bits, cols: inFeatures)
        guard outFeatures > 0, inFeatures > 0, bytes.count == outFeatures * rb, scales.count == outFeatures else {
            throw IntegerError("packed weight \(outFeatures)×\(inFeatures) at \(bits) bits needs \(outFeatures * rb) bytes and "
                               + "\(outFeatures) scales, got \(bytes.count) and \(scales.count)")
        }
        guard scales.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw IntegerError("packed weight scales must be finite and positive")
        }
        self.bits = bits
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        self.rowBytes = rb
        self.bytes = bytes
        self.scales = scales
    }

    /// Packs the codes of `quantizer` (symmetric, axis 0, one quantizer per output row) applied to `weight`.
    public init(weight: Tensor, quantizer: ChannelQuantizer) throws {
        guard weight.rank == 2, quantizer.axis == 0, quantizer.quantizers.count == weight.shape[0] else {
            throw IntegerError("packed weight needs a 2-D weight and a per-output-channel (axis 0) quantizer")
        }
        let qs = quantizer.quantizers
        guard qs.allSatisfy({ $0.scheme == .symmetric }), let bits = qs.first?.bits, qs.allSatisfy({ $0.bits == bits }) else {
            throw IntegerError("integer execution needs symmetric quantizers with one bit width")
        }
        let codes = try quantizer.codes(weight.data, shape: weight.shape)
        let bytes = try BitPacking.pack(codes: codes, rows: weight.shape[0], cols: weight.shape[1], bits: bits)
        try self.init(bits: bits, outFeatures: weight.shape[0], inFeatures: weight.shape[1], bytes: bytes, scales: qs.map(\.step))
    }

    /// Symmetric per-output-channel MinMax (AbsMax) quantization of `weight` at `bits`, then packing.
    public static func minMax(_ weight: Tensor, bits: Int) throws -> (PackedLinearWeight, ChannelQuantizer) {
        guard weight.rank == 2 else { throw IntegerError("weight must be 2-D, got \(weight.shape)") }
        let (o, i) = (weight.shape[0], weight.shape[1])
        var qs: [Quantizer] = []
        for r in 0..<o {
            let (lo, hi) = try Observer.absMax(Array(weight.data[(r * i)..<((r + 1) * i)]))
            qs.append(try Quantizer(bits: bits, lower: lo, upper: hi, scheme: .symmetric))
        }
        let cq = try ChannelQuantizer(quantizers: qs, axis: 0)
        return (try PackedLinearWeight(weight: weight, quantizer: cq), cq)
    }

    /// The codes, row-major out × in (slow reference unpacking).
    public func codes() -> [Int32] {
        BitPacking.unpackReference(bytes, rows: outFeatures, cols: inFeatures, bits: bits)
    }

    /// Ŵ = q·Δw[o], bit-identical to `ChannelQuantizer.fakeQuant` of the source weight (both compute Float(q)·Δ).
    public func dequantized() -> Tensor {
        let q = codes()
        var out = [Float](repeating: 0, count: q.count)
        for o in 0..<outFeatures { for k in 0..<inFeatures { out[o * inFeatures + k] = Float(q[o * inFeatures + k]) * scales[o] } }
        return Tensor(shape: [outFeatures, inFeatures], data: out)
    }

    /// Bytes at rest: packed codes plus 4 bytes of scale per output channel.
    public var byteCount: Int { bytes.count + 4 * scales.count }
}

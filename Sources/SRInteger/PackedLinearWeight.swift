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

    /// Packs the codes of `quantizer` (axis 0, one quantizer per output row) applied to `weight`: symmetric codes at
    /// their own bit width, or — for affine grids with an integer zero point — the centred codes q − z[o], packed at the
    /// smallest supported width that holds every row's centred range [−z, 2^b − 1 − z] (so Ŵ = Float(q − z)·Δw[o]
    /// exactly as `ChannelQuantizer.fakeQuant`; e.g. 4-bit codes with z = 8 fit 4 bits, other z need 8).
    public init(weight: Tensor, quantizer: ChannelQuantizer) throws {
        guard weight.rank == 2, quantizer.axis == 0, quantizer.quantizers.count == weight.shape[0] else {
            throw IntegerError("packed weight needs a 2-D weight and a per-output-channel (axis 0) quantizer")
        }
        let qs = quantizer.quantizers
        guard qs.allSatisfy(\.isCentred), let b = qs.first?.bits, qs.allSatisfy({ $0.bits == b }) else {
            throw IntegerError("integer execution needs symmetric or integer-zero-point weight quantizers with one bit width "
                               + "(an affine weight grid needs --zero-point integer)")
        }
        let lo = qs.map(\.centredCodeMin).min()!, hi = qs.map(\.centredCodeMax).max()!
        guard let bits = BitPacking.supportedBits.sorted().first(where: { b <= $0 && BitPacking.codeRange(bits: $0).contains(lo)
                                                                          && BitPacking.codeRange(bits: $0).contains(hi) }) else {
            throw IntegerError("weight codes in [\(lo), \(hi)] do not fit a packed width (\(BitPacking.supportedBits) bits)")
        }
        let n = weight.shape[0], k = weight.shape[1]
        var codes = [Int32](repeating: 0, count: n * k)
        for o in 0..<n { for p in 0..<k { codes[o * k + p] = qs[o].centredCode(weight.data[o * k + p]) } }
        let bytes = try BitPacking.pack(codes: codes, rows: n, cols: k, bits: bits)
        try self.init(bits: bits, outFeatures: n, inFeatures: k, bytes: bytes, scales: qs.map(\.step))
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

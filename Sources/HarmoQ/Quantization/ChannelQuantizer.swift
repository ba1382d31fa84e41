/// Per-channel quantization: one `Quantizer` per slice along `axis` of a row-major tensor.
///
/// For a weight W (out × in) stored row-major, per-output-channel quantization is `axis: 0`.
/// Each slice is quantized independently: changing one channel's data or bounds never changes
/// another channel's output.
public struct ChannelQuantizer: Sendable, Codable, Equatable {
    public let quantizers: [Quantizer]
    public let axis: Int

    public init(quantizers: [Quantizer], axis: Int) throws {
        guard !quantizers.isEmpty else { throw QuantError("ChannelQuantizer needs at least one quantizer") }
        guard axis >= 0 else { throw QuantError("ChannelQuantizer axis must be ≥ 0, got \(axis)") }
        self.quantizers = quantizers
        self.axis = axis
    }

    /// Splits `shape` around `axis` into (outer, channels, inner) element counts.
    static func layout(_ shape: [Int], axis: Int, count: Int, channels: Int) throws -> (Int, Int) {
        guard axis < shape.count else { throw QuantError("axis \(axis) out of range for shape \(shape)") }
        guard shape.reduce(1, *) == count else { throw QuantError("shape \(shape) holds \(shape.reduce(1, *)) elements, data has \(count)") }
        guard shape[axis] == channels else {
            throw QuantError("shape \(shape) has \(shape[axis]) channels on axis \(axis), quantizer has \(channels)")
        }
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *)
        return (outer, inner)
    }

    /// Fake-quantizes `x` (row-major, `shape`), channel c along `axis` with `quantizers[c]`.
    public func fakeQuant(_ x: [Float], shape: [Int]) throws -> [Float] {
        try map(x, shape: shape) { q, v in q.fakeQuant(v) }
    }

    /// Integer codes, same layout as `x`.
    public func codes(_ x: [Float], shape: [Int]) throws -> [Int32] {
        try map(x, shape: shape) { q, v in q.code(v) }
    }

    /// Dequantizes codes produced by `codes` (bit-identical to `fakeQuant`).
    public func dequantize(_ codes: [Int32], shape: [Int]) throws -> [Float] {
        try map(codes, shape: shape) { q, c in q.dequantize(c) }
    }

    /// Applies `f` with each element's channel quantizer, keeping the layout.
    func map<T, U>(_ x: [T], shape: [Int], _ f: (Quantizer, T) -> U) throws -> [U] {
        let c = quantizers.count
        let (outer, inner) = try ChannelQuantizer.layout(shape, axis: axis, count: x.count, channels: c)
        var out: [U] = []
        out.reserveCapacity(x.count)
        let shift = ShippedMutant.active == .channelQuantizerWrongChannel ? 1 : 0
        for o in 0..<outer { for ch in 0..<c { let q = quantizers[(ch + shift) % c]; let base = (o * c + ch) * inner
            for i in 0..<inner { out.append(f(q, x[base + i])) } } }
        return out
    }
}

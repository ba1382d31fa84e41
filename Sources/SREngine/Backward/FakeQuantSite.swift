/// A `FakeQuantizer` at a site of a backward-capable forward (`DifferentiableSiteQuantizer`): quantizes in the
/// forward and, in the backward, passes dL/dx on while adding dL/d(lower, upper) into `gradient` (Float64 per
/// channel). Bounds change through `setBounds` (e.g. after an optimiser step); `zeroGradient` between steps.
public final class FakeQuantSite: DifferentiableSiteQuantizer {
    public private(set) var quantizer: FakeQuantizer
    public private(set) var gradient: BoundGradient

    public init(_ quantizer: FakeQuantizer) {
        self.quantizer = quantizer
        gradient = BoundGradient(channels: quantizer.channels)
    }

    public var lower: [Float] { quantizer.quantizers.map(\.lower) }
    public var upper: [Float] { quantizer.quantizers.map(\.upper) }

    /// New bounds (same bits, scheme, rounding); throws unless lower < upper per channel.
    public func setBounds(lower: [Float], upper: [Float]) throws {
        quantizer = try quantizer.withBounds(lower: lower, upper: upper)
    }

    public func zeroGradient() { gradient = BoundGradient(channels: quantizer.channels) }

    public func quantize(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        quantizer.forward(UnsafeBufferPointer(start: x, count: rows * cols), into: UnsafeMutableBufferPointer(start: y, count: rows * cols))
    }

    public func backward(input x: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>,
                         gradInput dx: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        let n = rows * cols
        quantizer.backward(x: UnsafeBufferPointer(start: x, count: n), gradOutput: UnsafeBufferPointer(start: dy, count: n),
                           gradInput: UnsafeMutableBufferPointer(start: dx, count: n), bounds: &gradient)
    }
}

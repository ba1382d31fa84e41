/// A `FakeQuantizer` at a site of a backward-capable forward (`DifferentiableSiteQuantizer`): quantizes in the
/// forward and, in the backward, passes dL/dx on while adding dL/d(lower, upper) into `gradient` (Float64 per
/// channel). Bounds change through `setBounds` (e.g. after an optimiser step); `zeroGradient` between steps.
/// With an `inputScale` s (HSO: one divisor per column) the site computes y = Q(x ⊘ s), as `QuantizedModel` applies
/// it, and its backward returns dL/dx = (∂Q/∂u)(x ⊘ s) · dL/dy ⊘ s.
public final class FakeQuantSite: DifferentiableSiteQuantizer {
    public private(set) var quantizer: FakeQuantizer
    public private(set) var gradient: BoundGradient
    public let inputScale: [Float]?

    public init(_ quantizer: FakeQuantizer, inputScale: [Float]? = nil) {
        self.quantizer = quantizer
        self.inputScale = inputScale
        gradient = BoundGradient(channels: quantizer.channels)
    }

    public var lower: [Float] { quantizer.quantizers.map(\.lower) }
    public var upper: [Float] { quantizer.quantizers.map(\.upper) }

    /// New bounds (same bits, scheme, rounding); throws unless lower < upper per channel.
    public func setBounds(lower: [Float], upper: [Float]) throws {
        quantizer = try quantizer.withBounds(lower: lower, upper: upper)
    }

    public func zeroGradient() { gradient = BoundGradient(channels: quantizer.channels) }

    /// x ⊘ s into a fresh buffer (the quantizer's real input), or nil without a scale for these columns.
    private func scaled(_ x: UnsafePointer<Float>, rows: Int, cols: Int) -> [Float]? {
        guard let s = inputScale, s.count == cols else { return nil }
        var u = [Float](repeating: 0, count: rows * cols)
        for r in 0..<rows { for c in 0..<cols { u[r * cols + c] = x[r * cols + c] / s[c] } }
        return u
    }

    public func quantize(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        let out = UnsafeMutableBufferPointer(start: y, count: rows * cols)
        if let u = scaled(x, rows: rows, cols: cols) {
            u.withUnsafeBufferPointer { quantizer.forward($0, into: out) }
        } else {
            quantizer.forward(UnsafeBufferPointer(start: x, count: rows * cols), into: out)
        }
    }

    public func backward(input x: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>,
                         gradInput dx: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        let n = rows * cols
        let gout = UnsafeBufferPointer(start: dy, count: n), gin = UnsafeMutableBufferPointer(start: dx, count: n)
        if let u = scaled(x, rows: rows, cols: cols), let s = inputScale {
            u.withUnsafeBufferPointer { quantizer.backward(x: $0, gradOutput: gout, gradInput: gin, bounds: &gradient) }
            for r in 0..<rows { for c in 0..<cols { dx[r * cols + c] /= s[c] } }
        } else {
            quantizer.backward(x: UnsafeBufferPointer(start: x, count: n), gradOutput: gout, gradInput: gin, bounds: &gradient)
        }
    }
}

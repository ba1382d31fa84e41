import HarmoQ
import SREngine

/// A site quantizer of a QPARAMS plan whose clipping bounds are learned by an output-level objective.
///
/// It computes exactly what `QuantizedModel` applies at the site — y = Q(x ⊘ s) for an activation with HSO input
/// scale s (per input column; nil = 1), or Q_w(W) per output row for a weight — and its backward returns
/// dL/dx = (∂Q/∂u)(x ⊘ s) · dL/dy ⊘ s while adding dL/d(lower, upper) of every channel to `gradient`
/// (`FakeQuantizer`'s STE or exact derivative).
final class LearnableSiteQuantizer: DifferentiableSiteQuantizer {
    let site: String
    let isWeight: Bool
    private(set) var quantizer: FakeQuantizer
    let inputScale: [Float]?
    /// dL/d(lower), dL/d(upper) per channel, summed since the last `resetGradient()`.
    private(set) var gradient: BoundGradient

    init(site: String, isWeight: Bool, quantizer: FakeQuantizer, inputScale: [Float]?) {
        self.site = site
        self.isWeight = isWeight
        self.quantizer = quantizer
        self.inputScale = inputScale
        gradient = BoundGradient(channels: quantizer.channels)
    }

    var lower: [Float] { quantizer.quantizers.map(\.lower) }
    var upper: [Float] { quantizer.quantizers.map(\.upper) }

    func resetGradient() { gradient = BoundGradient(channels: quantizer.channels) }

    /// New bounds (same bits, scheme, rounding); throws when a pair is not a valid quantizer.
    func setBounds(lower: [Float], upper: [Float]) throws {
        quantizer = try quantizer.withBounds(lower: lower, upper: upper)
    }

    /// x ⊘ s into a fresh buffer (the quantizer's real input), or nil when there is no scale.
    private func scaled(_ x: UnsafePointer<Float>, rows: Int, cols: Int) -> [Float]? {
        guard let s = inputScale, s.count == cols else { return nil }
        var u = [Float](repeating: 0, count: rows * cols)
        for r in 0..<rows { for c in 0..<cols { u[r * cols + c] = x[r * cols + c] / s[c] } }
        return u
    }

    func quantize(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        let n = rows * cols
        let out = UnsafeMutableBufferPointer(start: y, count: n)
        if let u = scaled(x, rows: rows, cols: cols) {
            u.withUnsafeBufferPointer { quantizer.forward($0, into: out) }
        } else {
            quantizer.forward(UnsafeBufferPointer(start: x, count: n), into: out)
        }
    }

    func backward(input x: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>,
                  gradInput dx: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        let n = rows * cols
        let gin = UnsafeMutableBufferPointer(start: dx, count: n)
        let gout = UnsafeBufferPointer(start: dy, count: n)
        if let u = scaled(x, rows: rows, cols: cols), let s = inputScale {
            u.withUnsafeBufferPointer { quantizer.backward(x: $0, gradOutput: gout, gradInput: gin, bounds: &gradient) }
            for r in 0..<rows { for c in 0..<cols { dx[r * cols + c] /= s[c] } }
        } else {
            quantizer.backward(x: UnsafeBufferPointer(start: x, count: n), gradOutput: gout, gradInput: gin, bounds: &gradient)
        }
    }
}

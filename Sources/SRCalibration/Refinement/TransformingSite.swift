import SREngine

/// Which side of a Linear a learned transform wraps: its input (activation quantizer) or its weight (weight quantizer).
enum WrappedSide { case input, weight }

/// A site quantizer that transforms its input (x → u) before an inner quantizer: the learned channel scales
/// (`ScaledSite`) and the learned rotations (`RotatingSite`) around both quantizers of a Linear. The forward and the
/// inner backward are shared here; each wrapper adds its own chain rule.
protocol TransformingSite: DifferentiableSiteQuantizer {
    var inner: DifferentiableSiteQuantizer { get }
    /// u for the rows × cols input x.
    func transformed(_ x: UnsafePointer<Float>, rows: Int, cols: Int) -> [Float]
}

extension TransformingSite {
    func quantize(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        let u = transformed(x, rows: rows, cols: cols)
        u.withUnsafeBufferPointer { inner.quantize($0.baseAddress!, into: y, rows: rows, cols: cols) }
    }

    /// u and dL/du = the inner quantizer's backward at u from dy (dy is read before anything is written).
    func innerBackward(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, rows: Int, cols: Int) -> (u: [Float], du: [Float]) {
        let u = transformed(x, rows: rows, cols: cols)
        var du = [Float](repeating: 0, count: rows * cols)
        u.withUnsafeBufferPointer { up in du.withUnsafeMutableBufferPointer { d in
            inner.backward(input: up.baseAddress!, gradOutput: dy, gradInput: d.baseAddress!, rows: rows, cols: cols) } }
        return (u, du)
    }
}

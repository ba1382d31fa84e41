import HarmoQ
import SREngine

/// A Linear input site with an online rotation (`SiteQuantization.rotation`) in the backward-capable forward: x ← x·R
/// (the same Float32 GEMM as `QuantizedModel`'s `OnlineRotation`), then the site's quantizer when it has one; the
/// backward passes dL/dx = (dL/du)·Rᵀ with u = x·R (R orthogonal, its transpose packed once). The plan's weight is
/// already W·R, so the Linear needs nothing else.
final class RotatedSite: DifferentiableSiteQuantizer {
    let rotation: OnlineRotation
    let inner: DifferentiableSiteQuantizer?
    private let transposed: GEMM.Packed

    init(_ r: Rotation, inner: DifferentiableSiteQuantizer?) {
        rotation = OnlineRotation(r)
        self.inner = inner
        let m = r.floatMatrix
        transposed = m.withUnsafeBufferPointer { GEMM.Packed(k: r.order, n: r.order, b: $0.baseAddress!, ldb: r.order, transB: true) }
    }

    func quantize(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        precondition(cols == rotation.order, "RotatedSite: \(cols) columns, rotation of order \(rotation.order)")
        let u = rotation.rotated(UnsafeBufferPointer(start: x, count: rows * cols), rows: rows)
        u.withUnsafeBufferPointer { up in
            if let inner { inner.quantize(up.baseAddress!, into: y, rows: rows, cols: cols) } else { y.update(from: up.baseAddress!, count: rows * cols) }
        }
    }

    func backward(input x: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>, gradInput dx: UnsafeMutablePointer<Float>,
                  rows: Int, cols: Int) {
        let n = rows * cols
        var du = [Float](repeating: 0, count: n)
        if let inner {
            let u = rotation.rotated(UnsafeBufferPointer(start: x, count: n), rows: rows)
            u.withUnsafeBufferPointer { up in du.withUnsafeMutableBufferPointer { d in
                inner.backward(input: up.baseAddress!, gradOutput: dy, gradInput: d.baseAddress!, rows: rows, cols: cols) } }
        } else {
            du.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: dy, count: n) }
        }
        du.withUnsafeBufferPointer { d in
            GEMM.multiply(m: rows, a: d.baseAddress!, lda: cols, packed: transposed, c: dx, ldc: cols)
        }
    }
}

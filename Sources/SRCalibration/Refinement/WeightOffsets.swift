import HarmoQ
import SREngine

/// A weight site whose weight is learned too (AdaRound-like, with a straight-through estimator): it quantizes
/// W + V·Δ instead of W, V (per weight, in units of the row's initial quantization step Δ) clamped to [−1, 1], so each
/// weight can move to a neighbouring grid point but not further. The backward passes dL/d(W + V·Δ) (the inner
/// quantizer's STE gradient, bound gradients accumulated as usual) into `gradient` (dL/dV, Float64).
final class OffsetWeightSite: DifferentiableSiteQuantizer {
    let inner: FakeQuantSite
    let rows: Int, cols: Int
    /// Δ per row at the start.
    let step: [Float]
    /// V, rows × cols, in units of `step`.
    var offset: [Float]
    var gradient: [Double]

    init(_ inner: FakeQuantSite, rows: Int, cols: Int) {
        self.inner = inner
        self.rows = rows; self.cols = cols
        step = inner.quantizer.quantizers.count == rows ? inner.quantizer.quantizers.map(\.step)
            : [Float](repeating: inner.quantizer.quantizers[0].step, count: rows)
        offset = [Float](repeating: 0, count: rows * cols)
        gradient = [Double](repeating: 0, count: rows * cols)
    }

    /// W + V·Δ (the weight the site really quantizes).
    func shifted(_ w: UnsafePointer<Float>) -> [Float] {
        var u = [Float](repeating: 0, count: rows * cols)
        for r in 0..<rows { for c in 0..<cols { u[r * cols + c] = w[r * cols + c] + offset[r * cols + c] * step[r] } }
        return u
    }

    func quantize(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        precondition(rows == self.rows && cols == self.cols, "OffsetWeightSite: \(rows)×\(cols), expected \(self.rows)×\(self.cols)")
        let u = shifted(x)
        u.withUnsafeBufferPointer { inner.quantize($0.baseAddress!, into: y, rows: rows, cols: cols) }
    }

    func backward(input x: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>, gradInput dx: UnsafeMutablePointer<Float>,
                  rows: Int, cols: Int) {
        let u = shifted(x)
        u.withUnsafeBufferPointer { inner.backward(input: $0.baseAddress!, gradOutput: dy, gradInput: dx, rows: rows, cols: cols) }
        for r in 0..<rows { for c in 0..<cols { gradient[r * cols + c] += Double(dx[r * cols + c]) * Double(step[r]) } }
    }

    func zeroGradient() { for i in gradient.indices { gradient[i] = 0 } }
}

/// The learned weight offsets of a set of weight sites as one Adam parameter vector (β 0.9/0.999, ε 1e-8, cosine decay
/// to `finalFraction`), V clamped to [−1, 1] after each step.
struct OffsetParameters {
    let sites: [(name: String, site: OffsetWeightSite)]
    private var adam: BoundOptimizer
    private let config: HarmoQConfig
    private var values: [Double]

    init(_ sites: [(name: String, site: OffsetWeightSite)], iterations: Int, learningRate: Double, finalFraction: Double) {
        self.sites = sites
        values = sites.flatMap { $0.site.offset.map(Double.init) }
        let cfg = HarmoQConfig.refinementAdam(iterations: iterations, learningRate: learningRate, finalFraction: finalFraction)
        config = cfg
        adam = BoundOptimizer(count: values.count, config: cfg)
    }

    var count: Int { values.count }
    func zeroGradients() { for s in sites { s.site.zeroGradient() } }
    var snapshot: [[Float]] { sites.map { $0.site.offset } }

    mutating func restore(_ s: [[Float]]) {
        var k = 0
        for (site, v) in zip(sites, s) {
            site.site.offset = v
            for i in v.indices { values[k + i] = Double(v[i]) }
            k += v.count
        }
    }

    mutating func step(iteration it: Int, context: String) throws {
        var g: [Double] = []
        g.reserveCapacity(values.count)
        for s in sites {
            if let bad = s.site.gradient.firstIndex(where: { !$0.isFinite }) {
                throw QuantError("non-finite gradient of the weight offset at \(context), site \(s.name) (row \(bad / s.site.cols), column \(bad % s.site.cols)); nothing written")
            }
            g += s.site.gradient
        }
        adam.update(&values, grad: g, lr: BoundOptimizer.learningRate(at: it, config: config))
        var k = 0
        for s in sites {
            for i in s.site.offset.indices {
                values[k + i] = Swift.min(1, Swift.max(-1, values[k + i]))
                s.site.offset[i] = Float(values[k + i])
            }
            k += s.site.offset.count
        }
    }
}

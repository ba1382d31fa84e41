import Foundation
import HarmoQ
@testable import SREngine

/// Seeded Float data (so the fast Float path and the Float64 reference see the same values).
func gaussians(_ n: Int, seed: UInt64, scale: Double = 1) -> [Float] {
    var g = SplitMix64(seed: seed)
    return (0..<n).map { _ in Float(g.nextGaussian() * scale) }
}

func toDouble(_ x: [Float]) -> [Double] { x.map(Double.init) }

/// max|a − b| / max|b| (b the reference); 0 when both are 0.
func scaledError(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "scaledError: \(a.count) vs \(b.count)")
    var num = 0.0, den = 0.0
    for i in 0..<a.count { num = max(num, abs(a[i] - b[i])); den = max(den, abs(b[i])) }
    return den == 0 ? num : num / den
}

func scaledError(_ a: [Float], _ b: [Double]) -> Double { scaledError(toDouble(a), b) }

/// Central finite differences of a scalar Float64 function at x, step h, for the given coordinates (all by default).
func finiteDifferences(_ x: [Double], h: Double = 1e-5, indices: [Int]? = nil, _ f: ([Double]) -> Double) -> [Double] {
    var g = [Double](repeating: 0, count: x.count)
    var xp = x
    for i in indices ?? Array(0..<x.count) {
        let v = x[i]
        xp[i] = v + h; let fp = f(xp)
        xp[i] = v - h; let fm = f(xp)
        xp[i] = v
        g[i] = (fp - fm) / (2 * h)
    }
    return g
}

/// Σ a ⊙ b.
func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

/// y = x + c·x² (elementwise): a smooth stand-in for a fake quantizer, to test that every site's forward and
/// backward are wired in the right place (a real quantizer's STE gradient cannot be checked by FD).
/// c = a, or with `adaptive` c = a / min(1, max|x| of the first call) (fixed from then on), so sites with small
/// values (L2-normalised q, k; probabilities) get a curvature of the same relative size as the others.
final class SmoothSiteMap: DifferentiableSiteQuantizer {
    let a: Float
    let adaptive: Bool
    private(set) var c: Float? = nil
    var forwardCalls = 0, backwardCalls = 0
    init(a: Float = 0.1, adaptive: Bool = false) { self.a = a; self.adaptive = adaptive; if !adaptive { c = a } }
    func quantize(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        forwardCalls += 1
        if c == nil {
            var m: Float = 0
            for i in 0..<(rows * cols) { m = max(m, abs(x[i])) }
            c = a / max(min(1, m), 1e-3)
        }
        let c = self.c!
        for i in 0..<(rows * cols) { let v = x[i]; y[i] = v + c * v * v }
    }
    func backward(input x: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>, gradInput dx: UnsafeMutablePointer<Float>,
                  rows: Int, cols: Int) {
        backwardCalls += 1
        let c = self.c!
        for i in 0..<(rows * cols) { dx[i] = dy[i] * (1 + 2 * c * x[i]) }
    }
    var map: WindowAttentionReference.Map {
        let a = Double(self.c ?? self.a)
        return .init(f: { $0 + a * $0 * $0 }, df: { 1 + 2 * a * $0 })
    }
}

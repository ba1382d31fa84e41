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

/// y = x + a·x² (elementwise, a = 0.1): a smooth stand-in for a fake quantizer, to test that every site's
/// forward and backward are wired in the right place (a real quantizer's STE gradient cannot be checked by FD).
final class SmoothSiteMap: DifferentiableSiteQuantizer {
    let a: Float
    var forwardCalls = 0, backwardCalls = 0
    init(a: Float = 0.1) { self.a = a }
    func quantize(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        forwardCalls += 1
        for i in 0..<(rows * cols) { let v = x[i]; y[i] = v + a * v * v }
    }
    func backward(input x: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>, gradInput dx: UnsafeMutablePointer<Float>,
                  rows: Int, cols: Int) {
        backwardCalls += 1
        for i in 0..<(rows * cols) { dx[i] = dy[i] * (1 + 2 * a * x[i]) }
    }
    var map: WindowAttentionReference.Map {
        let a = Double(self.a)
        return .init(f: { $0 + a * $0 * $0 }, df: { 1 + 2 * a * $0 })
    }
}

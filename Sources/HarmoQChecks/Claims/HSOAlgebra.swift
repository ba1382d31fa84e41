import Foundation
import HarmoQ

/// HSO's model (paper eqs. 9–11): MSE_x(s) = (βx−αx)²/(12 s² N_x²), MSE_w(s) = s²(βw−αw)²/(12 N_w²), N = 2^b − 1,
/// and its closed form (6) s* = √((βx−αx)·N_w / ((βw−αw)·N_x)).
struct HSOModel {
    var rangeX: Double, rangeW: Double
    var bitsX: Int, bitsW: Int
    /// A mutant may use 2^b levels instead of 2^b − 1 steps, or swap the bit-widths.
    var levelsInsteadOfSteps = false
    var bitsSwapped = false
    var fourthRootDropped = false

    func steps(_ b: Int) -> Double { levelsInsteadOfSteps ? Double(1 << b) : Double((1 << b) - 1) }
    func mseX(_ s: Double) -> Double { rangeX * rangeX / (12 * s * s * steps(bitsX) * steps(bitsX)) }
    func mseW(_ s: Double) -> Double { s * s * rangeW * rangeW / (12 * steps(bitsW) * steps(bitsW)) }
    var sStar: Double {
        let (nx, nw) = bitsSwapped ? (steps(bitsW), steps(bitsX)) : (steps(bitsX), steps(bitsW))
        let r = rangeX * nw / (rangeW * nx)
        return fourthRootDropped ? r : r.squareRoot()
    }
}

/// Output error of a quantized linear layer y = x·Wᵀ over a token batch, in Float64 from Float32 quantized values:
/// E = ‖Q_x(X)·Q_w(W)ᵀ − X·Wᵀ‖_F (everything the quantized layer gets wrong, δW·δx included).
enum LayerError {
    static func outputError(x: [Float], w: [Float], n: Int, d: Int, m: Int, qx: (Float) -> Float, qw: (Float) -> Float,
                            xScale: [Float]? = nil, wScale: [Float]? = nil) -> Double {
        // x̂ = Q_x(x / s_j), ŵ = Q_w(w · s_j); product Σ_j x̂_j ŵ_j (the s_j cancel in exact arithmetic)
        var xh = [Float](repeating: 0, count: n * d), wh = [Float](repeating: 0, count: m * d)
        for t in 0..<n { for j in 0..<d { xh[t * d + j] = qx(x[t * d + j] / (xScale?[j] ?? 1)) } }
        for i in 0..<m { for j in 0..<d { wh[i * d + j] = qw(w[i * d + j] * (wScale?[j] ?? 1)) } }
        var e = 0.0
        for t in 0..<n { for i in 0..<m {
            var yq = 0.0, y = 0.0
            for j in 0..<d {
                yq += Double(xh[t * d + j]) * Double(wh[i * d + j])
                y += Double(x[t * d + j]) * Double(w[i * d + j])
            }
            e += (yq - y) * (yq - y)
        } }
        return e.squareRoot()
    }
}

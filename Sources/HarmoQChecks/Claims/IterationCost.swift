import Foundation
import GSLOracle

/// One instrumented iteration of Algorithm 1 on L synthetic layers (m = d): every primitive that runs adds its
/// multiply-add count to the counter. Step 1 (SRC, eq. 5 as printed, H k×d), step 2 (bounds + s*), step 3
/// (gradient of L_total w.r.t. the four bounds, STE). Counts are of work actually executed, not a formula.
struct IterationCost {
    var ops: Double = 0
    var covarianceOps: Double = 0
    var gradientOps: Double = 0
    /// Mutants: count as if N were 1; count one layer only.
    var ignoreSamples = false
    var oneLayerOnly = false

    mutating func mul(_ a: OracleMatrix, _ b: OracleMatrix) -> OracleMatrix {
        ops += Double(a.rows * a.cols * b.cols)
        return Dense.mul(a, b)
    }

    /// Runs the iteration; returns the SRC result of the last layer (m×k) for the correctness check.
    mutating func iterate(d: Int, k: Int, n: Int, layers: Int, seed: UInt64, dropLambda: Bool = false) throws -> (dW: OracleMatrix, layer: CheckLayer, h: OracleMatrix, dx: OracleMatrix) {
        var last: (OracleMatrix, CheckLayer, OracleMatrix, OracleMatrix)? = nil
        let grid = max(1, Int(Double(n).squareRoot().rounded(.down)))
        for l in 0..<layers {
            let layer = CheckLayer(d: d, m: d, images: max(1, n / (grid * grid)), grid: grid, seed: seed &+ UInt64(l))
            let nTok = layer.tokens
            let countN = ignoreSamples ? 1.0 : Double(nTok)
            let countLayer = oneLayerOnly && l > 0 ? 0.0 : 1.0
            let before = ops
            // step 2 statistics (bounds): max |x|, min/max W
            let dx = layer.activationError(bits: 2)
            ops += countN * Double(d) * 2 + Double(d * d)
            // step 1: Σxx, Σδx (N·d² each)
            let c0 = ops
            let sxx = Dense.gram(layer.x, layer.x, scale: Double(nTok))
            let sdx = Dense.gram(dx, layer.x, scale: Double(nTok))
            ops += 2 * countN * Double(d * d)
            covarianceOps += (ops - c0) * countLayer
            var rng = CheckRNG(seed: seed ^ UInt64(l))
            var h = OracleMatrix(rows: k, cols: d)
            for i in h.data.indices { h.data[i] = rng.gaussian() / Double(k).squareRoot() }
            let sdxHt = mul(sdx, h.transposed)                       // d·d·k
            let g = Dense.addDiagonal(mul(mul(h, sxx), h.transposed), dropLambda ? 0 : 0.01 * Dense.trace(sxx) / Double(d))
            let rhs = mul(layer.w, sdxHt)                            // m·d·k
            let z = try GSL.choleskySolve(g, rhs.transposed).x       // k³/3 + m·k²
            ops += Double(k * k * k) / 3 + Double(layer.m * k * k)
            let dW5 = -1 * z.transposed
            // step 3: residual r = ΔX·Wᵀ + X·δWᵀ and the four bound derivatives (STE), N·m·d each
            let g0 = ops
            let q = layer.w.data.reduce(0) { max($0, abs($1)) }
            let wq = ReferenceQuantizer(bits: 2, lower: -q, upper: q)
            let dWq = OracleMatrix(rows: layer.m, cols: d, data: layer.w.data.map { wq.fakeQuant($0) - $0 })
            let r = Dense.mul(dx, layer.w.transposed) + Dense.mul(layer.x, dWq.transposed)
            let sens = Dense.mul(layer.x, layer.w.transposed)       // the sensitivity product of step 3 (one N·m·d product)
            _ = Dense.dot(r, sens)
            ops += 3 * countN * Double(layer.m * d) + countN * Double(layer.m)
            gradientOps += (ops - g0) * countLayer
            ops += 4   // boundary updates, O(1) per layer
            if countLayer == 0 { ops = before }
            last = (dW5, layer, h, dx)
        }
        return last!
    }
}

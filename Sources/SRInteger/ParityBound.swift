import HarmoQ

/// The bound on |y_int − y_fake| for one output of a symmetric linear site (docs/integer.md, "Parity").
///
/// With u = 2⁻²⁴, γ_n = n·u/(1 − n·u), P = Δx·Δw[o]·Σ_p |qx[p]·qw[o, p]| and the exact y* = Δx·Δw[o]·S + b
/// (S = Σ_p qx·qw, exact in int32 and in Float while |S| < 2²⁴):
/// - integer path: fl(fl(fl(Δx·Δw)·S) + b): |y_int − y*| ≤ γ₂·P + u·(|b| + (1 + γ₂)·P);
/// - fake-quant path: x̂ = fl(qx·Δx), ŵ = fl(qw·Δw) (relative error u each), then b plus k products summed in
///   any order (FMA or not): |y_fake − y*| ≤ γ₂·P + γ_{k+1}·(|b| + (1 + γ₂)·P);
/// so |y_int − y_fake| ≤ 2γ₂·P + (γ_{k+1} + u)·(|b| + (1 + γ₂)·P) ≤ γ_{k+6}·(|b| + (1 + γ₂)·P).
public enum ParityBound {
    public static let unitRoundoff = 0x1p-24

    public static func gamma(_ n: Int) -> Double {
        let nu = Double(n) * unitRoundoff
        return nu / (1 - nu)
    }

    /// γ_{k+6}·(|b| + (1 + γ₂)·P) with P = Δx·Δw·absSum (absSum = Σ|qx·qw|).
    public static func bound(k: Int, stepX: Float, stepW: Float, absSum: Int64, bias: Float) -> Double {
        let p = Double(stepX) * Double(stepW) * Double(absSum)
        return gamma(k + 6) * (abs(Double(bias)) + (1 + gamma(2)) * p)
    }

    /// Per-output comparison of integer and fake-quant results.
    public struct Report: Sendable, CustomStringConvertible {
        public var outputs: Int
        /// Outputs with |y_int − y_fake| > bound (must be 0).
        public var violations: Int
        /// Outputs where the two results are bit-identical.
        public var identical: Int
        public var maxAbsDifference: Double
        /// max over outputs of |y_int − y_fake| / bound (≤ 1 when the bound holds).
        public var maxBoundRatio: Double
        /// max over outputs of |S| (the int32 sums must stay below 2²⁴ for the bound's Float(S) step to be exact).
        public var maxAbsSum: Int64
        public var description: String {
            "outputs \(outputs), identical \(identical), violations \(violations), max |Δ| \(maxAbsDifference), "
                + "max |Δ|/bound \(maxBoundRatio), max |S| \(maxAbsSum)"
        }
    }

    /// Compares y_int with y_fake (rows × out) given the codes that produced them.
    public static func compare(yInt: [Float], yFake: [Float], xCodes: [Int8], weight: PackedLinearWeight,
                               bias: [Float]?, stepX: Float) -> Report {
        let n = weight.outFeatures, k = weight.inFeatures
        let rows = xCodes.count / k
        let w = weight.codes()
        var r = Report(outputs: rows * n, violations: 0, identical: 0, maxAbsDifference: 0, maxBoundRatio: 0, maxAbsSum: 0)
        for i in 0..<rows {
            for o in 0..<n {
                var abs: Int64 = 0, s: Int64 = 0
                for p in 0..<k {
                    let t = Int64(xCodes[i * k + p]) * Int64(w[o * k + p])
                    abs += t < 0 ? -t : t
                    s += t
                }
                let b = bias?[o] ?? 0
                let bound = self.bound(k: k, stepX: stepX, stepW: weight.scales[o], absSum: abs, bias: b)
                let d = Swift.abs(Double(yInt[i * n + o]) - Double(yFake[i * n + o]))
                if yInt[i * n + o] == yFake[i * n + o] { r.identical += 1 }
                if d > bound { r.violations += 1 }
                r.maxAbsDifference = Swift.max(r.maxAbsDifference, d)
                if bound > 0 { r.maxBoundRatio = Swift.max(r.maxBoundRatio, d / bound) }
                else if d > 0 { r.maxBoundRatio = .infinity }
                r.maxAbsSum = Swift.max(r.maxAbsSum, Swift.abs(s))
            }
        }
        return r
    }
}

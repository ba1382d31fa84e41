import Foundation
import HarmoQ

/// Quantizer conformance, part 2: the ABR/bulk kernel (`QuantKernel`) against the conformant `Quantizer`, and
/// hand-worked tables for the feasibility projection and the range observers (every table value worked by hand in the
/// comments, not produced by the code).
extension QuantizerConformance {
    func kernelAndTables(size: CheckSize, seed: UInt64, count: (String, String, Int, [(String, String)]) -> Void) throws {
        var rng = CheckRNG(seed: seed ^ 0x6b65)
        let samples = size == .ci ? 400 : 4000
        for scheme in QuantScheme.allCases {
            for rounding in Rounding.allCases {
                for bits in [2, 4, 8] {
                    let lo = -Float(0.1 + 3 * rng.uniform()), hi = Float(0.1 + 3 * rng.uniform())
                    let q = try Quantizer(bits: bits, lower: lo, upper: hi, scheme: scheme, rounding: rounding)
                    let k = QuantKernel(q)
                    var xs: [Float] = (0..<samples).map { _ in Float((rng.uniform() * 2 - 1) * 1.5 * Double(max(-lo, hi))) }
                    // exact ties of the grid coordinate (x/Δ or (x−α)/Δ = c + ½) and the bounds themselves
                    for c in -4...4 {
                        xs.append(scheme == .symmetric ? (Float(c) + 0.5) * q.step : (Float(c + 4) + 0.5) * q.step + lo)
                    }
                    xs += [lo, hi, 0]
                    var bad = 0
                    for x in xs {
                        if k.fakeQuant(x).bitPattern != q.fakeQuant(x).bitPattern { bad += 1; continue }
                        for mode in GradientMode.allCases {
                            let (v, da, db) = k.quantAndBoundDerivatives(x, exact: mode == .exact)
                            let ref = q.derivatives(x, mode: mode)
                            if v.bitPattern != q.fakeQuant(x).bitPattern || da != ref.dLower || db != ref.dUpper { bad += 1; break }
                        }
                    }
                    let p: [(String, String)] = [("scheme", scheme.rawValue), ("rounding", rounding.rawValue), ("bits", "\(bits)"),
                                                 ("range", "[\(lo),\(hi)]"), ("n", "\(xs.count)")]
                    count("kernel-vs-quantizer", "", bad, p)
                    // bulk, without and with per-channel divisors (3 channels)
                    let s: [Float] = [0.5, 2, 3]
                    var plain = xs, scaled = xs
                    plain.withUnsafeMutableBufferPointer { k.fakeQuantInPlace($0) }
                    scaled.withUnsafeMutableBufferPointer { k.fakeQuantInPlace($0, divideBy: s) }
                    var bulkBad = 0
                    for (i, x) in xs.enumerated() {
                        if plain[i].bitPattern != q.fakeQuant(x).bitPattern { bulkBad += 1 }
                        if scaled[i].bitPattern != q.fakeQuant(x / s[i % 3]).bitPattern { bulkBad += 1 }
                    }
                    count("kernel-bulk", "", bulkBad, p + [("divisors", "0.5,2,3")])
                }
            }
        }

        // Feasibility projection α ← min(α, β − m), then β ← max(β, α + m):
        //   (0, 1, 0.01): already feasible → (0, 1)
        //   (1, 0.5, 0.01): α = min(1, 0.49) = 0.49; β = max(0.5, 0.49 + 0.01 = 0.5) = 0.5 → (0.49, 0.5)
        //   (−1, −1, 0.1): α = min(−1, −1.1) = −1.1; β = max(−1, −1.1 + 0.1 = −1) = −1 → (−1.1, −1)
        //   (2, −3, 1): α = min(2, −4) = −4; β = max(−3, −4 + 1 = −3) = −3 → (−4, −3)
        let projTable: [((Float, Float, Float), (Float, Float))] = [((0, 1, 0.01), (0, 1)), ((1, 0.5, 0.01), (0.49, 0.5)),
                                                                    ((-1, -1, 0.1), (-1.1, -1)), ((2, -3, 1), (-4, -3))]
        let projBad = projTable.filter { e in
            let r = Quantizer.projectFeasible(lower: e.0.0, upper: e.0.1, margin: e.0.2)
            return abs(r.lower - e.1.0) > 1e-6 || abs(r.upper - e.1.1) > 1e-6
        }.count
        count("table:projection", "", projBad, [("entries", "\(projTable.count)")])

        // Observers, hand-worked:
        var obsBad = 0
        func expect(_ got: (Float, Float), _ want: (Float, Float)) { if abs(got.0 - want.0) > 1e-6 || abs(got.1 - want.1) > 1e-6 { obsBad += 1 } }
        // minMax([3, −1, 2]) = (−1, 3); absMax = (−3, 3); absMax([0.5, −2]) = (−2, 2); constant [2, 2] → (1.995, 2.005)
        expect(try Observer.minMax([3, -1, 2]), (-1, 3))
        expect(try Observer.absMax([3, -1, 2]), (-3, 3))
        expect(try Observer.absMax([0.5, -2]), (-2, 2))
        expect(try Observer.minMax([2, 2]), (1.995, 2.005))
        // percentile on 0…100 (101 sorted values, position q/100·100): 99 → (1, 99); 99.5 → (0.5, 99.5); 100 → (0, 100)
        let ramp = (0...100).map(Float.init).reversed().map { $0 }
        expect(try Observer.percentile(ramp, 99), (1, 99))
        expect(try Observer.percentile(ramp, 99.5), (0.5, 99.5))
        expect(try Observer.percentile(ramp, 100), (0, 100))
        // DOBI, 1-bit affine (levels α, β; x̂ = α if (x−α)/(β−α) < ½ else β), x = [−10, −1, −1, 1, 1, 10], 2 candidates:
        //   two-sided δ = 20/(2·2) = 5: [−10, 10]: ±1 → ∓10, SSE 4·81 = 324; [−5, 5]: ±10 → ±5 (2·25), ±1 → ±5 (4·16),
        //   SSE 114 → (−5, 5).  one-direction δ = 20/2 = 10: [−10, 0]: −1 → v = 0.9 → 0 (2·1), 1 → 0 (2·1), 10 → 0 (100),
        //   SSE 104 < 324 → (−10, 0).
        let dx: [Float] = [-10, -1, -1, 1, 1, 10]
        expect(try Observer.dobi(dx, bits: 1, scheme: .affine, candidates: 2), (-5, 5))
        expect(try Observer.dobi(dx, bits: 1, scheme: .affine, candidates: 2, oneDirection: true), (-10, 0))
        // mseSearch, 2-bit symmetric (codes −2…1, Δ = 2c·3/3), x = [−3, 3], grid 2 (c ∈ {1, ½}):
        //   c = 1: Δ = 2, −3 → v = −1.5 → −2 (even) → −4 (e 1), 3 → v = 1.5 → 2 → clip 1 → 2 (e 1): SSE 2;
        //   c = ½: Δ = 1, −3 → −2 (e 1), 3 → 1 (e 4): SSE 5 → (−3, 3).
        expect(try Observer.mseSearch([-3, 3], bits: 2, scheme: .symmetric, grid: 2), (-3, 3))
        count("table:observers", "", obsBad, [("entries", "11")])
    }
}

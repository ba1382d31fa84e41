import Foundation
import HarmoQ

/// Quantizer conformance (`harmoq verify quantizer`): the core `Quantizer` against hand-worked tables, an
/// independent Float64 reference (`ReferenceQuantizer`), its own invariants, and finite differences of the
/// real quantizer for the derivatives. Every result counts mismatches (threshold: value < 1, i.e. none) or a
/// scaled ratio; mutants substitute deliberately wrong quantizers and must be caught.
public struct QuantizerConformance: Checker {
    public init() {}
    public let id = "quantizer"
    public let title = "Quantizer conformance (grid, rounding, saturation, codes, invariants, derivatives)"
    public var verdict: ClaimVerdict {
        ClaimVerdict(claim: id, status: .holds,
                     summary: "core quantizer matches the spec bit-exactly: tables, Float64 reference, invariants, a.e. derivatives",
                     reproduce: "harmoq verify quantizer -v")
    }
    public var legend: [(ratio: String, formula: String)] {
        [("table:*", "#entries of a hand-worked table the quantizer gets wrong (expect 0)"),
         ("reference", "#inputs where code(x) differs from the Float64 reference, inputs within max(1e-4, 4|v|ε_f) of a tie excluded"),
         ("codes-roundtrip", "#inputs where dequantize(code(x)) and fakeQuant(x) differ in any bit"),
         ("idempotence / monotonicity / zero / equivariance / channels", "#violations of the invariant"),
         ("half-step", "max over in-range x of |Q(x) − x| / (Δ/2); expect < 1 + (2·2^(b−1) + 8)·ε_f (Float32 rounding of v = x/Δ and of q·Δ, |v| ≤ 2^(b−1))"),
         ("derivative-exact", "#points (away from kinks) where ∂x̂/∂α, ∂x̂/∂β differ from central FD of the Float64 reference by > 1e-3 rel"),
         ("derivative-ste", "#points where the STE derivative differs from the LSQ formula (Float64) by > 1e-4"),
         ("kernel-vs-quantizer", "#inputs (random + exact ties, both roundings) where QuantKernel.fakeQuant / quantAndBoundDerivatives differ in any bit from Quantizer.fakeQuant / derivatives"),
         ("kernel-bulk", "#elements where QuantKernel.fakeQuantInPlace (with and without per-channel divisors) differs in any bit from fakeQuant(x / s_c)"),
         ("table:projection", "#entries of the hand-worked feasibility-projection table Quantizer.projectFeasible gets wrong"),
         ("table:observers", "#entries of hand-worked observer tables (minMax, absMax, percentile, DOBI, mseSearch) the core observers get wrong")]
    }
    public var shippedMutants: [ShippedMutant] {
        [.quantizerRoundHalfUp, .quantizerStepOverTwoToB, .quantizerSymmetricCodeMaxOffByOne, .quantizerAffineDropsOffset,
         .quantizerCodesNotClamped, .quantizerExactDerivativeIsSTE, .quantizerClipGradientMissing, .kernelRoundingIgnoresMode,
         .kernelBulkScaleIndexShifted, .channelQuantizerWrongChannel, .projectionOrderSwapped, .observerMinMaxSwapped,
         .observerAbsMaxUsesSmaller, .observerPercentileIndexOffByOne, .observerDOBIShrinksTwiceAsFast, .observerMSESearchSkipsFullRange]
    }
    public var mutants: [Mutant] {
        [Mutant("round-half-away", "rounds ties away from zero instead of to even"),
         Mutant("round-truncate", "truncates toward zero instead of rounding"),
         Mutant("steps-2^b", "step Δ = (β−α)/2^b instead of (β−α)/(2^b−1)"),
         Mutant("no-clip", "integer codes not clamped to the grid"),
         Mutant("qmax-off-by-one", "symmetric code range −2^(b−1) … 2^(b−1) (one level too many)"),
         Mutant("affine-no-offset", "affine dequantization drops the +α"),
         Mutant("exact-as-ste", "the exact derivative returns the STE/LSQ surrogate"),
         Mutant("clip-grad-missing", "derivative w.r.t. the bounds is 0 for clipped inputs")]
    }

    /// The quantizer under test: the core one, or a mutant.
    struct Ops {
        var code: (Float) -> Int32
        var dequantize: (Int32) -> Float
        var derivatives: (Float, GradientMode) -> (dx: Float, dLower: Float, dUpper: Float)
        func fakeQuant(_ x: Float) -> Float { dequantize(code(x)) }
    }

    func make(_ bits: Int, _ lo: Float, _ hi: Float, _ scheme: QuantScheme, _ rounding: Rounding = .halfToEven,
              mutant: Mutant?) throws -> Ops {
        let q = try Quantizer(bits: bits, lower: lo, upper: hi, scheme: scheme, rounding: rounding)
        var ops = Ops(code: q.code, dequantize: q.dequantize, derivatives: q.derivatives)
        guard let m = mutant else { return ops }
        func mutatedCode(step: Float, round: @escaping (Float) -> Float, clampMax: Float?, clamp: Bool) -> (Float) -> Int32 {
            { x in
                let v = scheme == .symmetric ? x / step : (min(max(x, lo), hi) - lo) / step
                var r = round(v)
                if clamp { r = min(max(r, Float(q.codeMin)), clampMax ?? Float(q.codeMax)) }
                return Int32(max(min(r, 1e9), -1e9))
            }
        }
        switch m.id {
        case "round-half-away":
            ops.code = mutatedCode(step: q.step, round: { $0.rounded(.toNearestOrAwayFromZero) }, clampMax: nil, clamp: true)
        case "round-truncate":
            ops.code = mutatedCode(step: q.step, round: { $0.rounded(.towardZero) }, clampMax: nil, clamp: true)
        case "steps-2^b":
            let s = (hi - lo) / Float(1 << bits)
            ops.code = mutatedCode(step: s, round: { rounding.apply($0) }, clampMax: nil, clamp: true)
            ops.dequantize = { c in scheme == .symmetric ? Float(c) * s : Float(c) * s + lo }
        case "no-clip":
            ops.code = mutatedCode(step: q.step, round: { rounding.apply($0) }, clampMax: nil, clamp: false)
        case "qmax-off-by-one":
            if scheme == .symmetric {
                ops.code = mutatedCode(step: q.step, round: { rounding.apply($0) },
                                       clampMax: Float(q.codeMax) + 1, clamp: true)
            }
        case "affine-no-offset":
            if scheme == .affine { ops.dequantize = { c in Float(c) * q.step } }
        case "exact-as-ste":
            ops.derivatives = { x, _ in q.derivatives(x, mode: .ste) }
        case "clip-grad-missing":
            ops.derivatives = { x, mode in
                let d = q.derivatives(x, mode: mode)
                let inside = scheme == .symmetric
                    ? (x / q.step).rounded(.toNearestOrEven) >= Float(q.codeMin) && (x / q.step).rounded(.toNearestOrEven) <= Float(q.codeMax)
                    : (x > lo && x < hi)
                return inside ? d : (d.dx, 0, 0)
            }
        default: break
        }
        return ops
    }

    public func run(size: CheckSize, seed: UInt64, mutant: Mutant?) throws -> [CheckResult] {
        var out: [CheckResult] = []
        let samples = size == .ci ? 400 : 4000
        func count(_ ratio: String, _ formula: String, _ bad: Int, _ params: [(String, String)]) {
            out.append(CheckResult(claim: id, ratio: ratio, formula: formula, value: Double(bad), threshold: 1,
                                   epsilon: 0, parameters: params + [("seed", seedText(seed))], expectation: .holds))
        }

        // Hand-worked tables (values worked by hand from the spec, not produced by the code).
        do {
            let even = try make(8, -127.5, 127.5, .symmetric, .halfToEven, mutant: mutant)
            let tiesEven: [(Float, Int32)] = [(0.5, 0), (1.5, 2), (2.5, 2), (-0.5, 0), (-1.5, -2), (-2.5, -2), (3.5, 4), (0.51, 1)]
            count("table:ties-half-even", "", tiesEven.filter { even.code($0.0) != $0.1 }.count, [("bits", "8"), ("s", "1")])
            let away = try make(8, -127.5, 127.5, .symmetric, .halfAwayFromZero, mutant: mutant)
            let tiesAway: [(Float, Int32)] = [(0.5, 1), (1.5, 2), (2.5, 3), (-0.5, -1), (-1.5, -2), (-2.5, -3)]
            count("table:ties-half-away", "", tiesAway.filter { away.code($0.0) != $0.1 }.count, [("bits", "8"), ("s", "1")])
            let sat: [(Float, Int32)] = [(1e9, 127), (-1e9, -128), (127.6, 127), (-128.4, -128), (-300, -128), (300, 127)]
            count("table:saturation", "", sat.filter { even.code($0.0) != $0.1 }.count, [("bits", "8"), ("s", "1")])
            let two = try make(2, -1.5, 1.5, .symmetric, mutant: mutant)
            let grid: [(Float, Float)] = [(-9, -2), (-1.6, -2), (-1.4, -1), (-0.4, 0), (0.4, 0), (0.6, 1), (1.4, 1), (9, 1)]
            count("table:2-bit-grid", "", grid.filter { two.fakeQuant($0.0) != $0.1 }.count, [("bits", "2"), ("s", "1")])
            let aff = try make(2, -1, 2, .affine, mutant: mutant)
            let affTable: [(Float, Float)] = [(-5, -1), (-0.4, 0), (0.4, 0), (1.2, 1), (1.6, 2), (7, 2), (-0.5, -1), (0.5, 1)]  // ±0.5: v = 0.5 → 0, v = 1.5 → 2 (ties on v, not x)
            count("table:affine-2-bit", "", affTable.filter { aff.fakeQuant($0.0) != $0.1 }.count, [("bits", "2"), ("range", "[-1,2]")])
        }

        var rng = CheckRNG(seed: seed)
        for scheme in QuantScheme.allCases {
            for bits in [1, 2, 3, 4, 8, 16] {
                let lo = -Float(0.1 + 3 * rng.uniform()), hi = Float(0.1 + 3 * rng.uniform())
                let ops = try make(bits, lo, hi, scheme, mutant: mutant)
                let q = try Quantizer(bits: bits, lower: lo, upper: hi, scheme: scheme)
                let ref = ReferenceQuantizer(bits: bits, lower: Double(lo), upper: Double(hi),
                                             scheme: scheme == .symmetric ? .symmetric : .affine)
                let params: [(String, String)] = [("scheme", scheme.rawValue), ("bits", "\(bits)"),
                                                  ("range", "[\(lo),\(hi)]"), ("n", "\(samples)")]
                var refBad = 0, rtBad = 0, idem = 0, mono = 0, zero = 0, equi = 0
                var worstHalf = 0.0
                var xs: [Float] = (0..<samples).map { _ in Float((rng.uniform() * 2 - 1) * 1.5 * Double(max(-lo, hi))) }
                xs.sort()
                for (i, x) in xs.enumerated() {
                    // independent Float64 reference, ties excluded
                    let v = ref.coordinate(Double(x))
                    let frac = abs(v - v.rounded(.down) - 0.5)
                    // Float32 computes v = x/Δ with relative error ~ulp: exclude points that close to a tie
                    if frac > max(1e-4, 4 * abs(v) * Thresholds.epsFloat), Double(ops.code(x)) != ref.code(Double(x)) { refBad += 1 }
                    if ops.dequantize(ops.code(x)).bitPattern != ops.fakeQuant(x).bitPattern { rtBad += 1 }
                    let y = ops.fakeQuant(x)
                    if ops.fakeQuant(y) != y { idem += 1 }
                    if i > 0, ops.fakeQuant(xs[i - 1]) > y { mono += 1 }
                    let inLo = q.dequantize(q.codeMin), inHi = q.dequantize(q.codeMax)
                    if x >= inLo, x <= inHi {
                        worstHalf = max(worstHalf, Double(abs(y - x)) / Double(q.step / 2))
                    }
                    // power-of-two scale equivariance
                    let c: Float = i % 2 == 0 ? 4 : 0.125
                    if let qc = try? make(bits, c * lo, c * hi, scheme, mutant: mutant), qc.fakeQuant(c * x) != c * y { equi += 1 }
                }
                if scheme == .symmetric, ops.fakeQuant(0) != 0 { zero += 1 }
                count("reference", "", refBad, params)
                count("codes-roundtrip", "", rtBad, params)
                count("idempotence", "", idem, params)
                count("monotonicity", "", mono, params)
                count("equivariance", "", equi, params)
                if scheme == .symmetric { count("zero", "", zero, params) }
                if bits >= 2 {
                    out.append(CheckResult(claim: id, ratio: "half-step", formula: "", value: worstHalf,
                                           threshold: 1 + Double(2 * (1 << (bits - 1)) + 8) * Thresholds.epsFloat, epsilon: Thresholds.epsFloat,
                                           parameters: params + [("seed", seedText(seed))], expectation: .holds))
                }
                // derivatives vs central finite differences of the Float64 reference (away from kinks)
                if bits >= 2 && bits <= 8 {
                    var dBad = 0, sBad = 0
                    let h = 1e-6 * Double(hi - lo)
                    for x in xs {
                        let xd = Double(x)
                        let up = ReferenceQuantizer(bits: bits, lower: Double(lo), upper: Double(hi) + h, scheme: ref.scheme)
                        let dn = ReferenceQuantizer(bits: bits, lower: Double(lo), upper: Double(hi) - h, scheme: ref.scheme)
                        let lu = ReferenceQuantizer(bits: bits, lower: Double(lo) + h, upper: Double(hi), scheme: ref.scheme)
                        let ld = ReferenceQuantizer(bits: bits, lower: Double(lo) - h, upper: Double(hi), scheme: ref.scheme)
                        guard up.code(xd) == dn.code(xd), lu.code(xd) == ld.code(xd), up.code(xd) == ref.code(xd),
                              abs(xd - Double(hi)) > 2 * h, abs(xd - Double(lo)) > 2 * h else { continue }
                        let fdU = (up.fakeQuant(xd) - dn.fakeQuant(xd)) / (2 * h)
                        let fdL = (lu.fakeQuant(xd) - ld.fakeQuant(xd)) / (2 * h)
                        let d = ops.derivatives(x, .exact)
                        if abs(Double(d.dUpper) - fdU) > 1e-3 * max(1, abs(fdU)) || abs(Double(d.dLower) - fdL) > 1e-3 * max(1, abs(fdL)) {
                            dBad += 1
                        }
                        // STE: inside the grid ∂x̂/∂β(ste) − ∂x̂/∂β(exact) = −v/N (symmetric), −(v)/N·… (affine: −v/N)
                        let inside = scheme == .symmetric
                            ? (ref.coordinate(xd).rounded(.toNearestOrEven) >= ref.codeMin && ref.coordinate(xd).rounded(.toNearestOrEven) <= ref.codeMax)
                            : (xd > Double(lo) && xd < Double(hi))
                        if inside {
                            let s = ops.derivatives(x, .ste)
                            let lsq = -ref.coordinate(xd) / ref.steps
                            if abs(Double(s.dUpper - d.dUpper) - lsq) > 1e-4 * max(1, abs(lsq)) || s.dx != 1 { sBad += 1 }
                        }
                    }
                    count("derivative-exact", "", dBad, params)
                    count("derivative-ste", "", sBad, params)
                }
            }
        }

        // per-channel independence: changing one channel's bounds and data never changes another's output
        var chanBad = 0
        for _ in 0..<(size == .ci ? 50 : 500) {
            let bits = 1 + Int(rng.next() % 8)
            let q0 = try Quantizer(bits: bits, lower: -1, upper: 1)
            let q1 = try Quantizer(bits: bits, lower: -Float(0.1 + rng.uniform()), upper: Float(0.1 + rng.uniform()))
            let q1b = try Quantizer(bits: bits, lower: -Float(0.1 + 4 * rng.uniform()), upper: Float(0.1 + 4 * rng.uniform()))
            var xs: [Float] = (0..<12).map { _ in Float(rng.uniform() * 6 - 3) }
            let a = try ChannelQuantizer(quantizers: [q0, q1, q0], axis: 1).fakeQuant(xs, shape: [2, 3, 2])
            for i in [2, 3, 8, 9] { xs[i] = Float(rng.uniform() * 100 - 50) }
            let b = try ChannelQuantizer(quantizers: [q0, q1b, q0], axis: 1).fakeQuant(xs, shape: [2, 3, 2])
            for i in [0, 1, 4, 5, 6, 7, 10, 11] where a[i] != b[i] || a[i] != q0.fakeQuant(xs[i]) { chanBad += 1 }
        }
        count("channels", "", chanBad, [("shape", "[2,3,2]"), ("axis", "1")])
        try kernelAndTables(size: size, seed: seed, count: count)
        return out
    }
}

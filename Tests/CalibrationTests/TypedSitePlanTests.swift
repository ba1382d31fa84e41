import Foundation
import HarmoQ
@testable import SRCalibration
import SRIO
import Testing

/// The typed reading of a plan's site (`SiteQuantization.weightPlan` / `activationPlan` / `inputScale` /
/// `correctedWeight` / `appliedWeight()`, `WeightQuantizerPlan`, `ActivationQuantizerPlan`, `QuantBits`): hand-worked
/// grids, and the view of a stored file (absent = float).
@Suite struct TypedSitePlanTests {
    @Test func weightPlanQuantizesEachRowOnItsOwnGrid() throws {
        // 2-bit symmetric: codes −2…1. Row 0: [−1.5, 1.5], Δ = 1 → {−2, −1, 0, 1}; row 1: [−0.75, 0.75], Δ = 0.5 → {−1, −0.5, 0, 0.5}.
        let p = WeightQuantizerPlan(bits: 2, scheme: .symmetric, rounding: .halfToEven, granularity: .perChannel,
                                    integerZeroPoint: false, lower: [-1.5, -0.75], upper: [1.5, 0.75])
        let w: [Float] = [0.4, -1.6, 2.7,     // → 0, −2, 1 (2.7 clipped to code 1)
                          0.3, -0.9, 0.74]    // → 0.5 (0.6 → 1), −1 (−1.8 → −2), 0.5 (1.48 → 1)
        #expect(try p.quantize(w, inputs: 3) == [0, -2, 1, 0.5, -1, 0.5])
        #expect(try p.quantizers().map(\.step) == [1, 0.5])
        #expect(p.outputs == 2 && p.granularity.axis == 0 && WeightGranularity.perTensor.axis == nil)
        #expect(throws: QuantError.self) { try p.quantize(w, inputs: 2) }   // 2×2 ≠ 6 values
    }

    @Test func activationPlanKeepsSchemeBoundsAndZeroPoint() throws {
        // 2-bit affine, float zero point: [0, 3], Δ = 1, x̂ = round(clip(x, 0, 3)).
        let a = ActivationQuantizerPlan(bits: 2, scheme: .affine, rounding: .halfToEven, integerZeroPoint: false, lower: 0, upper: 3)
        let q = try a.quantizer()
        #expect([1.4, -5, 2.6].map { q.fakeQuant($0) } == [1, 0, 3] && q.zeroPoint == nil)
        // Integer zero point: [−1, 2], Δ = 1, z = 1, centred codes −1…2.
        var z = a
        z.lower = -1; z.upper = 2; z.integerZeroPoint = true
        let qz = try z.quantizer()
        #expect(qz.zeroPoint == 1 && qz.fakeQuant(1.6) == 2 && qz.fakeQuant(-3) == -1)
        z.upper = -1   // lower ≥ upper is not a grid
        #expect(throws: QuantError.self) { try z.quantizer() }
    }

    @Test func bitsThirtyTwoMeanFloatAndNothingElse() {
        #expect(QuantBits.isQuantized(16) && QuantBits.isQuantized(1) && !QuantBits.isQuantized(QuantBits.float))
        #expect(QuantBits.isValid(1) && QuantBits.isValid(16) && QuantBits.isValid(32))
        #expect(!QuantBits.isValid(0) && !QuantBits.isValid(17) && !QuantBits.isValid(31))
    }

    /// The stored W4A4 MinMax fixture read through the typed view: every site has its activation quantizer, every linear
    /// site its weight quantizer, and Ŵ is each row of the corrected weight on that row's grid, value for value.
    @Test func storedPlanReadsAsTypedQuantizers() throws {
        let q = try QParams.read(path: QParamsFormatTests.v1)
        #expect(q.quantizesWeights && q.quantizesActivations)
        for s in q.sites {
            let a = try #require(s.activationPlan)
            #expect(a.bits == 4 && a.lower == s.activationLower && a.upper == s.activationUpper && a.scheme == s.activationScheme)
            guard let l = s.layer else {
                #expect(s.weightPlan == nil && s.correctedWeight == nil)
                #expect(try s.appliedWeight() == nil)
                continue
            }
            let w = try #require(s.weightPlan)
            #expect(w.bits == 4 && w.granularity == l.weightGranularity && w.lower == l.weightLower && w.upper == l.weightUpper)
            #expect(s.correctedWeight == Tensor(shape: [l.outputs, l.inputs], data: l.weight) && s.inputScale == l.inputScale)
            var expected = l.weight
            for o in 0..<l.outputs {
                let row = try Quantizer(bits: 4, lower: l.weightLower[o], upper: l.weightUpper[o], scheme: l.weightScheme, rounding: l.rounding)
                for p in 0..<l.inputs { expected[o * l.inputs + p] = row.fakeQuant(l.weight[o * l.inputs + p]) }
            }
            #expect(try s.appliedWeight()?.data.map(\.bitPattern) == expected.map(\.bitPattern))
        }
    }

    /// A weight-only plan (activation bits 32): no activation quantizer anywhere; an activation-only plan: the applied
    /// weight is the corrected weight itself, in float.
    @Test func floatSidesAreAbsent() throws {
        var wOnly = try QParams.read(path: QParamsFormatTests.v1)
        wOnly.activationBits = QuantBits.float
        for i in wOnly.sites.indices { wOnly.sites[i].activationQuantized = false }
        try wOnly.checkConsistent("W-only")
        #expect(wOnly.sites.allSatisfy { $0.activationPlan == nil } && wOnly.sites.contains { $0.weightPlan != nil })

        var aOnly = try QParams.read(path: QParamsFormatTests.v1)
        aOnly.weightBits = QuantBits.float
        for i in aOnly.sites.indices { aOnly.sites[i].weightQuantized = false }
        try aOnly.checkConsistent("A-only")
        for s in aOnly.sites {
            #expect(s.weightPlan == nil && s.activationPlan != nil)
            #expect(try s.appliedWeight() == s.correctedWeight)
        }
    }

    /// A linear site's activation grid is its layer's: one value, whichever name it is read or written through; the
    /// JSON form (format-1 layout) writes it at both places and refuses a file where the two differ, naming the site.
    @Test func linearSiteHoldsItsActivationGridOnce() throws {
        var s = try #require(try QParams.read(path: QParamsFormatTests.v1).sites.first { $0.layer != nil })
        s.activationUpper = 5; s.activationScheme = .affine; s.activationIntegerZeroPoint = true; s.rounding = .halfAwayFromZero
        var l = try #require(s.layer)
        #expect(l.activationUpper == 5 && l.activationScheme == .affine && l.activationIntegerZeroPoint == true && l.rounding == .halfAwayFromZero)
        s.layer?.activationLower = -4; s.layer?.activationBits = 3
        #expect(s.activationLower == -4 && s.activationBits == 3 && s.activationPlan?.lower == -4)
        l = try #require(s.layer)
        #expect(s.activationGrid == l.activationPlan)

        let json = try JSONEncoder().encode(s)
        #expect(try JSONDecoder().decode(SiteQuantization.self, from: json) == s)
        var doc = try JSONSerialization.jsonObject(with: json) as! [String: Any]
        var layer = doc["layer"] as! [String: Any]
        layer["activationUpper"] = 6.0
        doc["layer"] = layer
        do {
            _ = try JSONDecoder().decode(SiteQuantization.self, from: try JSONSerialization.data(withJSONObject: doc))
            Issue.record("a site whose layer's activation grid differs from its own was accepted")
        } catch {
            #expect("\(error)".contains("site \(s.name): the layer's activation grid"), "\(error)")
        }

        // An operand site keeps its own grid.
        var op = SiteQuantization(operand: "op", activation: ActivationQuantizerPlan(bits: 4, scheme: .affine, rounding: .halfToEven,
                                                                                      integerZeroPoint: false, lower: -1, upper: 2),
                                  activationQuantized: true)
        op.activationUpper = 3
        #expect(op.layer == nil && op.activationPlan?.upper == 3 && op.activationIntegerZeroPoint == nil)
        #expect(try JSONDecoder().decode(SiteQuantization.self, from: try JSONEncoder().encode(op)) == op)
    }

    @Test func boundSettersChangeTheSiteAndItsLayer() throws {
        var s = try #require(try QParams.read(path: QParamsFormatTests.v1).sites.first { $0.layer != nil })
        s.setActivationBounds(lower: -2, upper: 3)
        #expect(s.activationPlan?.lower == -2 && s.activationPlan?.upper == 3 && s.layer?.activationPlan.lower == -2)
        let m = try #require(s.layer).outputs
        s.setWeightBounds(lower: [Float](repeating: -1, count: m), upper: [Float](repeating: 1, count: m))
        #expect(s.weightPlan?.lower == [Float](repeating: -1, count: m) && s.weightPlan?.upper == [Float](repeating: 1, count: m))
    }
}

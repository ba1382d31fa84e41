import HarmoQ
import Testing

func quickConfig(_ variant: HarmoQVariant) -> HarmoQConfig {
    var c = variant == .paperLiteral ? HarmoQConfig.paperLiteral() : HarmoQConfig.corrected()
    c.iterations = 300
    c.warmupIterations = 30
    c.refinementRows = 512
    return c
}

@Test(arguments: [2, 4])
func correctedHarmoQBeatsMinMaxPerLayer(bits: Int) throws {
    let p = try SyntheticLayer.make(outputs: 24, inputs: 16, images: 2, side: 16, seed: 42)
    let minmax = try LayerCalibrator.calibrate(p, method: .minMax, weightBits: bits, activationBits: bits)
    let hq = try LayerCalibrator.calibrate(p, method: .harmoq(quickConfig(.corrected)), weightBits: bits, activationBits: bits)
    #expect(hq.after.deployment < minmax.after.deployment, "HarmoQ \(hq.after.deployment) vs MinMax \(minmax.after.deployment)")
    // keep-best: the layer ends at the lowest loss ABR evaluated, never above its starting point
    let tr = try #require(hq.trace)
    #expect(tr.finalLoss <= tr.initialLoss)
}

@Test func rollbackAndHalveGivesAMonotoneAcceptedTrace() throws {
    let p = try SyntheticLayer.make(outputs: 24, inputs: 16, images: 2, side: 16, seed: 42)
    var c = quickConfig(.corrected)
    c.rollbackOnIncrease = true
    let r = try LayerCalibrator.calibrate(p, method: .harmoq(c), weightBits: 3, activationBits: 3)
    let tr = try #require(r.trace)
    #expect(tr.acceptedMonotone)
    #expect(tr.rollbacks > 0, "the check is vacuous if nothing was ever rolled back")
    var plain = c
    plain.rollbackOnIncrease = false
    let tp = try #require(try LayerCalibrator.calibrate(p, method: .harmoq(plain), weightBits: 3, activationBits: 3).trace)
    #expect(tp.increases > 0, "plain Adam + STE should show increases (T4)")
}

@Test func literalVariantRunsAndReportsItsTrace() throws {
    let p = try SyntheticLayer.make(outputs: 16, inputs: 16, images: 2, side: 16, seed: 7)
    let r = try LayerCalibrator.calibrate(p, method: .harmoq(quickConfig(.paperLiteral)), weightBits: 4, activationBits: 4)
    #expect(r.after.deployment.isFinite && r.after.linearised.isFinite)
    #expect((r.trace?.steps.count ?? 0) > 0)
    #expect(r.method == "harmoq-literal")
}

@Test func literalSRCIsRejectedWhereIllTyped() throws {
    let p = try SyntheticLayer.make(outputs: 16, inputs: 16, images: 1, side: 16, seed: 7)
    var c = quickConfig(.paperLiteral)
    c.projectionAxis = .tokens
    #expect(throws: QuantError.self) { _ = try LayerCalibrator.calibrate(p, method: .harmoq(c), weightBits: 4, activationBits: 4) }
}

@Test func scalarHSOWithFollowingBoundsIsInert() throws {
    let p = try SyntheticLayer.make(outputs: 12, inputs: 16, images: 1, side: 16, seed: 3)
    var c = quickConfig(.paperLiteral)
    c.useSRC = false; c.useABR = false
    let withHSO = try LayerCalibrator.calibrate(p, method: .harmoq(c), weightBits: 3, activationBits: 3)
    let minmax = try LayerCalibrator.calibrate(p, method: .minMax, weightBits: 3, activationBits: 3)
    let s = withHSO.quantization.inputScale?.first ?? 1
    #expect(s != 1, "s* should differ from 1 on this layer")
    let rel = abs(withHSO.after.deployment - minmax.after.deployment) / minmax.after.deployment
    #expect(rel < 1e-3, "scalar HSO changed the error by \(rel)")
}

@Test func calibrationIsDeterministic() throws {
    let p = try SyntheticLayer.make(outputs: 12, inputs: 16, images: 1, side: 16, seed: 5)
    let a = try LayerCalibrator.calibrate(p, method: .harmoq(quickConfig(.corrected)), weightBits: 3, activationBits: 3, seed: 9)
    let b = try LayerCalibrator.calibrate(p, method: .harmoq(quickConfig(.corrected)), weightBits: 3, activationBits: 3, seed: 9)
    #expect(a == b)
}

@Test(arguments: [CalibrationMethod.percentile(99.99), .dobi(oneDirection: false), .dobi(oneDirection: true), .mseSearch, .twoDQuantScheme()])
func baselinesProduceValidQuantizers(method: CalibrationMethod) throws {
    let p = try SyntheticLayer.make(outputs: 8, inputs: 16, images: 1, side: 16, seed: 1)
    let r = try LayerCalibrator.calibrate(p, method: method, weightBits: 4, activationBits: 4)
    #expect(r.after.deployment.isFinite)
    _ = try r.quantization.quantizedWeight()
}

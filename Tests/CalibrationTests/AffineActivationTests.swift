import Foundation
import HarmoQ
import Testing

/// The corrected preset's affine activation grid: on a one-sided input (post-GELU, like every DAT `fc2` input) it
/// must reach a lower deployment loss than the paper's symmetric grid, and the result must say which grid it used.
@Test(arguments: [3, 4])
func affineActivationGridBeatsSymmetricOnOneSidedInputs(bits: Int) throws {
    let base = try SyntheticLayer.make(outputs: 24, inputs: 16, images: 2, side: 16, seed: 11)
    // GELU (tanh form): min ≈ −0.17, so the input is essentially one-sided.
    let gelu = base.samples.map { v -> Float in
        let x = Double(v)
        return Float(0.5 * x * (1 + tanh(0.7978845608 * (x + 0.044715 * x * x * x))))
    }
    let p = try LayerProblem(weight: base.weight, outputs: base.outputs, inputs: base.inputs, samples: gelu,
                             rows: base.rows, grid: base.grid)
    var affine = quickConfig(.corrected)
    affine.iterations = 100; affine.warmupIterations = 10
    #expect(affine.activationScheme == .affine, "the corrected preset uses the affine grid")
    var symmetric = affine
    symmetric.activationScheme = nil
    let a = try LayerCalibrator.calibrate(p, method: .harmoq(affine), weightBits: bits, activationBits: bits)
    let s = try LayerCalibrator.calibrate(p, method: .harmoq(symmetric), weightBits: bits, activationBits: bits)
    #expect(a.quantization.activationScheme == .affine && s.quantization.activationScheme == .symmetric)
    #expect(a.after.deployment < s.after.deployment, "affine \(a.after.deployment) vs symmetric \(s.after.deployment)")
    // `before` is the same MinMax baseline for both (symmetric, on the same rows).
    #expect(a.before == s.before)
}

/// A config recorded before the option existed (no `activationScheme` key) decodes as the symmetric grid.
@Test func configWithoutActivationSchemeDecodesAsSymmetric() throws {
    let enc = JSONEncoder()
    var c = HarmoQConfig.corrected()
    c.activationScheme = nil
    let data = try enc.encode(c)
    #expect(!String(decoding: data, as: UTF8.self).contains("activationScheme"))
    let back = try JSONDecoder().decode(HarmoQConfig.self, from: data)
    #expect(back.activationScheme == nil)
    let withAffine = try JSONDecoder().decode(HarmoQConfig.self, from: try enc.encode(HarmoQConfig.corrected()))
    #expect(withAffine.activationScheme == .affine)
}

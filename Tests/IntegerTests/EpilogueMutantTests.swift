import Testing
import HarmoQ
import SRIO
import SREngine
import SRInteger

/// Mutants injected into the shipped set-up of integer execution's epilogue (`IntegerEpilogueMutant`, read by
/// `IntegerLinear.init`): every one is caught by the checks of integer execution — the kernel against the slow
/// reference (which adds no zero-point term of its own), against the code-domain simulation (`CodeDomainLinear`, which
/// computes its scale and bias itself), and a hand-worked case — and the shipped code passes the same checks. The
/// checks run synchronously on the thread that activates the mutant (the seam is per thread).
@Suite struct EpilogueMutantTests {
    /// What fails on one site: 4-bit affine activations with an integer zero point on [lo, hi], symmetric per-channel
    /// 4-bit weights, a bias; plus the hand-worked 2-bit case of `ZeroPointIntegerTests` with Δx = 0.5.
    static func failures(seed: Int = 7) throws -> [String] {
        var out: [String] = []
        var src = CodeSource(seed: seed)
        let (m, n, k) = (5, 9, 33)
        let q = try Quantizer(bits: 4, lower: -0.7, upper: 2.3, scheme: .affine, rounding: .halfToEven, integerZeroPoint: true)
        let x = src.floats(m * k, scale: 2.5)
        let (packed, _) = try PackedLinearWeight.minMax(Tensor(shape: [n, k], data: src.floats(n * k, scale: 0.7)), bits: 4)
        let bias = src.floats(n, scale: 0.3)
        let cd = try CodeDomainLinear(activation: q, weightCodes: packed.codes(), weightSteps: packed.scales,
                                      outFeatures: n, inFeatures: k, bias: bias)
        let sim = cd.apply(x, rows: m)
        for isa in IntegerGEMM.ISA.allCases where isa.isSupported {
            let lin = try IntegerLinear(weight: packed, bias: bias, activation: q, isa: isa)
            let y = lin.apply(x, rows: m), ref = lin.reference(x, rows: m)
            if y.map(\.bitPattern) != ref.map(\.bitPattern) { out.append("\(isa): kernel ≠ slow reference") }
            if y.map(\.bitPattern) != sim.map(\.bitPattern) { out.append("\(isa): kernel ≠ code-domain simulation") }
        }
        // Hand-worked: 2-bit activations on [−0.5, 1] (Δ = 0.5, z = 1, kernel codes q − 2), weight codes [1, 1, 1],
        // step 0.5, bias 0.25. x = [1, −0.5, 0.2] → q = [3, 0, 1], centred [2, −1, 0]: Σ cw·(q − z) = 1 (kernel
        // Σ cw·a = 1 − 2 − 1 = −2, offset (2 − 1)·3 = 3); y = 0.5·0.5·1 + 0.25 = 0.5.
        let h = try Quantizer(bits: 2, lower: -0.5, upper: 1, scheme: .affine, rounding: .halfToEven, integerZeroPoint: true)
        let w = try PackedLinearWeight(bits: 2, outFeatures: 1, inFeatures: 3,
                                       bytes: try BitPacking.pack(codes: [1, 1, 1], rows: 1, cols: 3, bits: 2), scales: [0.5])
        let y = try IntegerLinear(weight: w, bias: [0.25], activation: h).apply([1, -0.5, 0.2], rows: 1)
        if y != [0.5] { out.append("hand-worked: \(y) ≠ [0.5]") }
        return out
    }

    @Test func shippedEpiloguePasses() throws {
        let f = try Self.failures()
        #expect(f.isEmpty, "\(f)")
    }

    @Test(arguments: IntegerEpilogueMutant.allCases.filter { $0 != .none })
    func mutantIsCaught(_ mutant: IntegerEpilogueMutant) throws {
        let f = try IntegerEpilogueMutant.withActive(mutant) { try Self.failures() }
        #expect(!f.isEmpty, "survived: \(mutant.summary)")
    }
}

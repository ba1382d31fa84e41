import HarmoQ
@testable import SRCalibration
import Testing

/// QDrop-style input mixing of block reconstruction (`refine --qdrop p`).
struct InputMixingTests {
    let q: [Float] = (0..<4000).map { Float($0) }
    var f: [Float] { q.map { -$0 - 1 } }

    @Test func endpointsAreThePurePaths() {
        var rng = SplitMix64(seed: 7)
        #expect(InputMixing.mix(quantized: q, fp: f, p: 0, rng: &rng) == q)
        #expect(InputMixing.mix(quantized: q, fp: f, p: 1, rng: &rng) == f)
    }

    /// Every element comes from one of the two inputs at its own index; the FP share is near p (4000 draws, p = 0.3:
    /// binomial standard deviation 29, the test allows 5σ = 145); the same seed gives the same mixture.
    @Test func elementwiseMixtureWithTheRequestedShare() {
        var a = SplitMix64(seed: 42), b = SplitMix64(seed: 42)
        let m = InputMixing.mix(quantized: q, fp: f, p: 0.3, rng: &a)
        #expect(m == InputMixing.mix(quantized: q, fp: f, p: 0.3, rng: &b))
        #expect(m.indices.allSatisfy { m[$0] == q[$0] || m[$0] == f[$0] })
        let fromFP = m.indices.filter { m[$0] == f[$0] }.count
        #expect(abs(fromFP - 1200) <= 145, "\(fromFP) of 4000 from the FP input, expected 1200")
    }
}

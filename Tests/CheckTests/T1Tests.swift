import HarmoQChecks
import Testing

@Test func t1ReproducesItsProof() throws { try expectCheckerReproducesItsProof("T1") }

/// The refutation is not an artefact of one seed.
@Test(arguments: [UInt64(0xBEEF)])
func t1ReproducesItsProofOnOtherSeeds(seed: UInt64) throws { try expectCheckerReproducesItsProof("T1", seed: seed) }

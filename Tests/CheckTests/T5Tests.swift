import HarmoQChecks
import Testing

@Test func t5ReproducesItsProof() throws { try expectCheckerReproducesItsProof("T5") }

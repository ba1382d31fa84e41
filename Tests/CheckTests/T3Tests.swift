import HarmoQChecks
import Testing

@Test func t3ReproducesItsProof() throws { try expectCheckerReproducesItsProof("T3") }

import HarmoQChecks
import Testing

@Test func t2ReproducesItsProof() throws { try expectCheckerReproducesItsProof("T2") }

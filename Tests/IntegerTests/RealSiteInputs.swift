import _TestSupport
import SRIO
import SREngine
import SRInteger

/// The real per-site inputs the parity tests use: DAT-light ×2 on a 32×32 crop (x 40, y 40) of Set5 baby (LR ×2).
enum RealSiteInputs {
    static let image = TestInputs.set5 + "/LR_bicubic/X2/babyx2.png"

    /// Whether the model is found (../shared, else the fetched .pth; Set5 is in the repository).
    static var available: Bool { TestInputs.datX2 != nil }

    /// The model and every Linear site's captured input on the crop.
    static func datX2BabyCrop() throws -> (model: any SRModel, captures: [LinearInputCapture.Captured]) {
        let m = try ModelLoader.load(path: TestInputs.datX2!)
        let img = try RGBImage.read(path: image).cropped(x: 40, y: 40, width: 32, height: 32)
        return (m, try LinearInputCapture.capture(m, input: img.toTensor()))
    }
}

import _TestSupport
import SRIO
import SREngine
import SRInteger

/// The real per-site inputs the parity tests use: DAT-light ×2 on a 32×32 crop (x 40, y 40) of Set5 baby (LR ×2).
enum RealSiteInputs {
    static let model = "models/dat-light-x2.safetensors"
    static let image = "data/Set5/LR_bicubic/X2/babyx2.png"

    /// Whether ../shared holds the model and the image.
    static var available: Bool { SharedData.exists(model) && SharedData.exists(image) }

    /// The model and every Linear site's captured input on the crop.
    static func datX2BabyCrop() throws -> (model: any SRModel, captures: [LinearInputCapture.Captured]) {
        let m = try ModelLoader.load(path: SharedData.path(model))
        let img = try RGBImage.read(path: SharedData.path(image)).cropped(x: 40, y: 40, width: 32, height: 32)
        return (m, try LinearInputCapture.capture(m, input: img.toTensor()))
    }
}

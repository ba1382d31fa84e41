/// BT.601 luma as the official SR scripts compute it (`to_y_channel` → `bgr2ycbcr(y_only=True)` in
/// SwinIR's/BasicSR's `util_calculate_psnr_ssim.py`): channels scaled to [0,1] in float32
/// (`uint8 / 255`), then `Y = 16 + 65.481·R + 128.553·G + 24.966·B` in float64, divided by 255 and
/// cast to float32 (`_convert_output_type_range`), then ×255 in float32. Result in [16, 235] on
/// the 0…255 scale, **not rounded to integers**; each value is float32-representable.
/// (The script then averages squared errors in float32; we accumulate in float64. Both agree
/// with fp-metrics.json to its printed precision, see MetricsTests.)
public enum YChannel {
    /// Row-major Y plane (height × width) of `image`, on the 0…255 scale.
    public static func plane(_ image: RGBImage) -> [Double] {
        let n = image.width * image.height
        var y = [Double](repeating: 0, count: n)
        image.pixels.withUnsafeBufferPointer { p in
            for i in 0..<n {
                let r = Double(Float(p[3 * i]) / 255), g = Double(Float(p[3 * i + 1]) / 255), b = Double(Float(p[3 * i + 2]) / 255)
                // np.dot over B, G, R (the script's channel order) in float64, + 16, /255, float32 cast, ×255 in float32.
                y[i] = Double(Float((b * 24.966 + g * 128.553 + r * 65.481 + 16.0) / 255.0) * Float(255))
            }
        }
        return y
    }

    /// The plane with `border` pixels removed on every side.
    static func cropped(_ plane: [Double], width: Int, height: Int, border: Int) -> [Double] {
        let w = width - 2 * border, h = height - 2 * border
        var out = [Double](repeating: 0, count: max(0, w * h))
        for r in 0..<max(0, h) {
            for c in 0..<w { out[r * w + c] = plane[(r + border) * width + c + border] }
        }
        return out
    }

    static func checkPair(_ a: RGBImage, _ b: RGBImage, border: Int, minSide: Int, metric: String) throws {
        guard a.width == b.width, a.height == b.height else {
            throw IOError("\(metric): image sizes differ (\(a.width)x\(a.height) vs \(b.width)x\(b.height))")
        }
        guard border >= 0 else { throw IOError("\(metric): negative crop border \(border)") }
        guard a.width - 2 * border >= minSide, a.height - 2 * border >= minSide else {
            throw IOError("\(metric): \(a.width)x\(a.height) is too small for crop border \(border) (need at least \(minSide) pixels left per side)")
        }
    }
}

import Foundation

/// SSIM on the Y channel as the official SR scripts (`calculate_ssim(..., crop_border, test_y_channel=True)`
/// → `_ssim`): crop `border`, Y plane (`YChannel`), 11×11 Gaussian window σ = 1.5 (`cv2.getGaussianKernel(11, 1.5)`,
/// outer product), C1 = (0.01·255)², C2 = (0.03·255)², mean of the SSIM map.
///
/// **Padding rule:** the script filters with `cv2.filter2D` (border `BORDER_REFLECT_101`) and then keeps
/// `[5:-5, 5:-5]`; every kept pixel's 11×11 window lies inside the image, so the border mode never
/// enters the result. We therefore compute the `valid` correlation directly (no padding at all):
/// the map is (H−10)×(W−10). The window is symmetric, so correlation = convolution.
public enum SSIM {
    public static let radius = 5
    static let c1 = (0.01 * 255.0) * (0.01 * 255.0)
    static let c2 = (0.03 * 255.0) * (0.03 * 255.0)

    /// `cv2.getGaussianKernel(11, 1.5)`: exp(−x²/(2σ²)) for x = −5…5, normalised to sum 1, in float64.
    public static let gaussian1D: [Double] = {
        let sigma = 1.5
        let t = (0..<11).map { i -> Double in let x = Double(i - 5); return exp(-0.5 / (sigma * sigma) * x * x) }
        let s = t.reduce(0, +)
        return t.map { $0 / s }
    }()

    public static func y(_ sr: RGBImage, _ hr: RGBImage, border: Int) throws -> Double {
        try YChannel.checkPair(sr, hr, border: border, minSide: 2 * radius + 1, metric: "SSIM")
        let w = sr.width - 2 * border, h = sr.height - 2 * border
        let a = YChannel.cropped(YChannel.plane(sr), width: sr.width, height: sr.height, border: border)
        let b = YChannel.cropped(YChannel.plane(hr), width: hr.width, height: hr.height, border: border)
        return mean(ssimMap(a, b, width: w, height: h, filter: validFilterSeparable))
    }

    /// SSIM map for two planes with a given `valid` filter (fast separable or the 2-D reference).
    public static func ssimMap(_ a: [Double], _ b: [Double], width w: Int, height h: Int,
                               filter: ([Double], Int, Int) -> [Double]) -> [Double] {
        let aa = zip(a, a).map(*), bb = zip(b, b).map(*), ab = zip(a, b).map(*)
        let mu1 = filter(a, w, h), mu2 = filter(b, w, h)
        let s11 = filter(aa, w, h), s22 = filter(bb, w, h), s12 = filter(ab, w, h)
        var map = [Double](repeating: 0, count: mu1.count)
        for i in 0..<map.count {
            let m1 = mu1[i], m2 = mu2[i]
            let m1sq = m1 * m1, m2sq = m2 * m2, m12 = m1 * m2
            let sig1 = s11[i] - m1sq, sig2 = s22[i] - m2sq, sig12 = s12[i] - m12
            map[i] = ((2 * m12 + c1) * (2 * sig12 + c2)) / ((m1sq + m2sq + c1) * (sig1 + sig2 + c2))
        }
        return map
    }

    /// Valid 11×11 Gaussian filtering, done as a row pass then a column pass. Output (h−10)×(w−10).
    public static func validFilterSeparable(_ x: [Double], _ w: Int, _ h: Int) -> [Double] {
        let g = gaussian1D, ow = w - 2 * radius, oh = h - 2 * radius
        var rows = [Double](repeating: 0, count: h * ow)
        for r in 0..<h {
            for c in 0..<ow {
                var s = 0.0
                for k in 0..<11 { s += g[k] * x[r * w + c + k] }
                rows[r * ow + c] = s
            }
        }
        var out = [Double](repeating: 0, count: oh * ow)
        for r in 0..<oh {
            for c in 0..<ow {
                var s = 0.0
                for k in 0..<11 { s += g[k] * rows[(r + k) * ow + c] }
                out[r * ow + c] = s
            }
        }
        return out
    }

    /// Reference: the literal 2-D valid correlation with the 11×11 outer-product window.
    public static func validFilterReference(_ x: [Double], _ w: Int, _ h: Int) -> [Double] {
        let g = gaussian1D, ow = w - 2 * radius, oh = h - 2 * radius
        var out = [Double](repeating: 0, count: oh * ow)
        for r in 0..<oh {
            for c in 0..<ow {
                var s = 0.0
                for i in 0..<11 { for j in 0..<11 { s += (g[i] * g[j]) * x[(r + i) * w + c + j] } }
                out[r * ow + c] = s
            }
        }
        return out
    }

    static func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }
}

import Foundation

/// PSNR on the Y channel as the official SR scripts (`calculate_psnr(..., crop_border, test_y_channel=True)`):
/// crop `border` pixels on every side, Y = BT.601 luma on 0…255 (`YChannel`), float64,
/// `20·log10(255 / √MSE)`. Identical images give `+infinity`, as the script does.
public enum PSNR {
    public static func y(_ sr: RGBImage, _ hr: RGBImage, border: Int) throws -> Double {
        try YChannel.checkPair(sr, hr, border: border, minSide: 1, metric: "PSNR")
        let a = YChannel.cropped(YChannel.plane(sr), width: sr.width, height: sr.height, border: border)
        let b = YChannel.cropped(YChannel.plane(hr), width: hr.width, height: hr.height, border: border)
        return fromPlanes(a, b)
    }

    static func fromPlanes(_ a: [Double], _ b: [Double]) -> Double {
        var s = 0.0
        for i in 0..<a.count { let d = a[i] - b[i]; s += d * d }
        let mse = s / Double(a.count)
        return mse == 0 ? .infinity : 20 * log10(255 / mse.squareRoot())
    }
}

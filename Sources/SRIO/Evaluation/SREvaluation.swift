import Foundation

/// The standard SR evaluation loop (the official SwinIR/BasicSR protocol, reference-implementations.md §1.4/§2.7):
/// LR as `uint8/255` RGB (1,3,h,w) → `upscale` (whole image, no tiling, no external padding; the model
/// pads internally if it needs to) → clamp, ×255, round half to even → uint8; HR cropped to (h·s, w·s);
/// PSNR and SSIM on Y with border = scale; per-image values averaged.
public enum SREvaluation {
    public static let protocolDescription =
        "LR uint8/255 RGB whole image; SR clamp[0,1]*255 round-half-even uint8; HR cropped top-left to LR*scale; " +
        "Y=16+65.481R+128.553G+24.966B (R,G,B in [0,1]); crop border=scale; PSNR float64; " +
        "SSIM 11x11 Gaussian sigma 1.5, valid region (= cv2.filter2D then [5:-5,5:-5]); mean over images"

    /// - Parameters:
    ///   - limit: evaluate only the first `limit` images (sorted by name).
    ///   - progress: called after each image with a one-line message (for stderr).
    public static func run(set: BenchmarkSet, scale: Int, limit: Int? = nil,
                           upscale: (Tensor) throws -> Tensor,
                           progress: ((String) -> Void)? = nil) throws -> EvalReport {
        guard scale == set.scale else { throw IOError("evaluation: set '\(set.name)' was loaded for ×\(set.scale), not ×\(scale)") }
        if let l = limit, l < 1 { throw IOError("evaluation: --limit must be at least 1, got \(l)") }
        let n = min(set.pairs.count, limit ?? set.pairs.count)
        let start = Date()
        var images: [EvalReport.Image] = []
        var forwardTotal = 0.0
        for i in 0..<n {
            let (lr, hr) = try set.images(i)
            let t0 = Date()
            let out = try upscale(lr.toTensor())
            let dt = Date().timeIntervalSince(t0)
            forwardTotal += dt
            guard out.shape == [1, 3, lr.height * scale, lr.width * scale] else {
                throw IOError("evaluation: model output for '\(set.pairs[i].name)' has shape \(out.shape), expected [1, 3, \(lr.height * scale), \(lr.width * scale)]")
            }
            let sr = try RGBImage(tensor: out)
            let psnr = try PSNR.y(sr, hr, border: scale), ssim = try SSIM.y(sr, hr, border: scale)
            images.append(.init(name: set.pairs[i].name, lrWidth: lr.width, lrHeight: lr.height, psnrY: psnr, ssimY: ssim,
                                forwardSeconds: dt, lrGenerated: set.pairs[i].lrPath == nil))
            progress?(String(format: "[%d/%d] %@ PSNR %.4f SSIM %.5f (%.2f s)", i + 1, n, set.pairs[i].name, psnr, ssim, dt))
        }
        let meanP = images.map(\.psnrY).reduce(0, +) / Double(max(1, images.count))
        let meanS = images.map(\.ssimY).reduce(0, +) / Double(max(1, images.count))
        return EvalReport(set: set.name, scale: scale, images: images, meanPSNRY: meanP, meanSSIMY: meanS,
                          forwardSeconds: forwardTotal, totalSeconds: Date().timeIntervalSince(start),
                          protocolDescription: protocolDescription)
    }
}

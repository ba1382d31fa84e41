import Foundation
import HarmoQ

/// Reproducible calibration inputs: `count` LR patches of 64×64, each cut from a random HR
/// region of 64·s × 64·s of a training image and downscaled with MATLAB bicubic
/// (`MatlabBicubic.downscale`, bit-identical to the benchmark LR files). All random choices come
/// from one `SplitMix64(seed:)`; the seed and every patch's origin are recorded.
///
/// Sources are folders of .png/.bmp images (not recursive), e.g. ../shared/data/DIV2K-calib and
/// ../shared/data/train/T91. Benchmark sets (Set5, Set14, B100, Urban100, Manga109) are refused:
/// calibrating on test images would leak them into the reported numbers.
public struct CalibrationPatches: Sendable {
    public struct Origin: Codable, Sendable {
        public let source: String
        /// Top-left corner of the HR region, in HR pixels.
        public let x: Int
        public let y: Int
    }

    public static let lrSize = 64
    public static let benchmarkNames: Set<String> = ["set5", "set14", "b100", "bsd100", "urban100", "manga109"]

    public let seed: UInt64
    public let scale: Int
    /// (1, 3, 64, 64) in [0, 1] (uint8/255).
    public let lr: [Tensor]
    /// (1, 3, 64·s, 64·s), the HR region each LR patch was made from.
    public let hr: [Tensor]
    public let origins: [Origin]

    public static func draw(count: Int, scale: Int, seed: UInt64, sources: [String]) throws -> CalibrationPatches {
        guard count >= 1 else { throw IOError("calibration patches: count must be at least 1, got \(count)") }
        guard (1...8).contains(scale) else { throw IOError("calibration patches: scale must be in 1…8, got \(scale)") }
        guard !sources.isEmpty else { throw IOError("calibration patches: no source folders given") }
        var files: [String] = []
        for dir in sources {
            let parts = URL(fileURLWithPath: dir).standardized.pathComponents.map { $0.lowercased() }
            if let bad = parts.first(where: { benchmarkNames.contains($0) }) {
                throw IOError("calibration patches: '\(dir)' is a benchmark set (\(bad)); calibration data must not come from test images")
            }
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
                throw IOError("calibration patches: source folder '\(dir)' does not exist")
            }
            files += try FileManager.default.contentsOfDirectory(atPath: dir)
                .filter { $0.lowercased().hasSuffix(".png") || $0.lowercased().hasSuffix(".bmp") }
                .sorted().map { dir + "/" + $0 }
        }
        let p = lrSize * scale
        var images: [(path: String, image: RGBImage)] = []
        for f in files {
            let img = try RGBImage.read(path: f)
            if img.width >= p && img.height >= p { images.append((f, img)) }
        }
        guard !images.isEmpty else {
            throw IOError("calibration patches: no source image is at least \(p)x\(p) (64·scale) pixels")
        }
        var rng = SplitMix64(seed: seed)
        var lr: [Tensor] = [], hr: [Tensor] = [], origins: [Origin] = []
        for _ in 0..<count {
            let (path, img) = images[rng.below(images.count)]
            let x = rng.below(img.width - p + 1), y = rng.below(img.height - p + 1)
            let region = try img.cropped(x: x, y: y, width: p, height: p)
            lr.append(try MatlabBicubic.downscale(region, scale: scale).toTensor())
            hr.append(region.toTensor())
            origins.append(Origin(source: path, x: x, y: y))
        }
        return CalibrationPatches(seed: seed, scale: scale, lr: lr, hr: hr, origins: origins)
    }

    /// ../shared/data/DIV2K-calib and ../shared/data/train/T91 under a given shared root.
    public static func defaultSources(sharedRoot: String) -> [String] {
        [sharedRoot + "/data/DIV2K-calib", sharedRoot + "/data/train/T91"]
    }
}

import Foundation

/// A benchmark set laid out as in ../shared/data and the EDSR/SwinIR test sets:
/// `DIR/HR/<name>.png` and `DIR/LR_bicubic/X<s>/<name>x<s>.png`. When an LR file is absent, the LR
/// image is made from HR (cropped top-left to a multiple of the scale) with MATLAB bicubic.
public struct BenchmarkSet: Sendable {
    public struct Pair: Sendable, Codable {
        public let name: String
        public let hrPath: String
        /// nil when no LR file exists (the LR is then made with `MatlabBicubic.downscale`).
        public let lrPath: String?

        public init(name: String, hrPath: String, lrPath: String?) {
            self.name = name
            self.hrPath = hrPath
            self.lrPath = lrPath
        }
    }

    public let name: String
    public let scale: Int
    public let pairs: [Pair]

    public init(name: String, scale: Int, pairs: [Pair]) {
        self.name = name
        self.scale = scale
        self.pairs = pairs
    }

    public static func load(dir: String, scale: Int) throws -> BenchmarkSet {
        guard (1...8).contains(scale) else { throw IOError("benchmark set: scale must be in 1…8, got \(scale)") }
        let hrDir = dir + "/HR"
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: hrDir, isDirectory: &isDir), isDir.boolValue else {
            throw IOError("benchmark set: '\(dir)' has no HR/ folder")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: hrDir)
            .filter { $0.lowercased().hasSuffix(".png") || $0.lowercased().hasSuffix(".bmp") }.sorted()
        guard !names.isEmpty else { throw IOError("benchmark set: '\(hrDir)' holds no .png or .bmp images") }
        let lrDir = dir + "/LR_bicubic/X\(scale)"
        let pairs = names.map { file -> Pair in
            let stem = (file as NSString).deletingPathExtension
            let lr = "\(lrDir)/\(stem)x\(scale).png"
            return Pair(name: stem, hrPath: "\(hrDir)/\(file)", lrPath: FileManager.default.fileExists(atPath: lr) ? lr : nil)
        }
        let setName = URL(fileURLWithPath: dir).standardized.lastPathComponent
        return BenchmarkSet(name: setName, scale: scale, pairs: pairs)
    }

    /// LR input and HR ground truth for pair `i`; HR is cropped top-left to (LR size × scale), as the protocol does.
    public func images(_ i: Int) throws -> (lr: RGBImage, hr: RGBImage) {
        let p = pairs[i]
        let hr = try RGBImage.read(path: p.hrPath)
        let lr: RGBImage
        if let path = p.lrPath { lr = try RGBImage.read(path: path) } else { lr = try MatlabBicubic.downscale(hr, scale: scale) }
        guard lr.width * scale <= hr.width, lr.height * scale <= hr.height else {
            throw IOError("benchmark set: LR \(lr.width)x\(lr.height) × \(scale) is larger than HR \(hr.width)x\(hr.height) for '\(p.name)'")
        }
        return (lr, try hr.cropped(width: lr.width * scale, height: lr.height * scale))
    }
}

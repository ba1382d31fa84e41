import Foundation

/// The result of `SREvaluation.run`: per-image and mean Y-channel PSNR/SSIM, with timings.
public struct EvalReport: Codable, Sendable {
    public struct Image: Codable, Sendable {
        public let name: String
        public let lrWidth: Int
        public let lrHeight: Int
        /// dB on the Y channel, border = scale; +infinity when SR equals HR.
        public let psnrY: Double
        public let ssimY: Double
        /// Seconds spent inside `upscale` for this image.
        public let forwardSeconds: Double
        /// true when the LR was made here with MATLAB bicubic (no LR file).
        public let lrGenerated: Bool
    }

    public let set: String
    public let scale: Int
    public let images: [Image]
    public let meanPSNRY: Double
    public let meanSSIMY: Double
    public let forwardSeconds: Double
    public let totalSeconds: Double
    public let protocolDescription: String

    /// JSON with sorted keys; infinite PSNR is written as the string "inf".
    public func jsonData() throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try enc.encode(self)
    }

    public static func decode(_ data: Data) throws -> EvalReport {
        let dec = JSONDecoder()
        dec.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try dec.decode(EvalReport.self, from: data)
    }
}

extension EvalReport {
    /// A plain table: one line per image, then the mean line (PSNR 4 decimals, SSIM 5, as the official logs).
    public func text() -> String {
        var lines = ["\(set) x\(scale) (Y channel, border \(scale))"]
        let width = max(5, images.map(\.name.count).max() ?? 5)
        func pad(_ s: String) -> String { s + String(repeating: " ", count: max(0, width - s.count)) }
        lines.append("\(pad("image"))  \("PSNR".leftPadded(9))  \("SSIM".leftPadded(8))  \("LR".leftPadded(9))  \("forward s".leftPadded(9))")
        for im in images {
            lines.append("\(pad(im.name))  \(String(format: "%9.4f", im.psnrY))  \(String(format: "%8.5f", im.ssimY))  \("\(im.lrWidth)x\(im.lrHeight)".leftPadded(9))  \(String(format: "%9.2f", im.forwardSeconds))\(im.lrGenerated ? "  (LR made with MATLAB bicubic)" : "")")
        }
        lines.append("\(pad("mean"))  \(String(format: "%9.4f", meanPSNRY))  \(String(format: "%8.5f", meanSSIMY))  \(String(images.count).leftPadded(9))  \(String(format: "%9.2f", forwardSeconds))")
        return lines.joined(separator: "\n")
    }
}

private extension String {
    func leftPadded(_ n: Int) -> String { String(repeating: " ", count: max(0, n - count)) + self }
}

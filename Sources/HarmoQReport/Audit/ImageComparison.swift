import Foundation

/// Per-image PSNR/SSIM of the FP and the quantized model on one benchmark set, and crops of the worst image.
public struct ImageComparison: Codable, Sendable {
    public struct Row: Codable, Sendable {
        public var name: String
        public var fpPSNR: Double
        public var fpSSIM: Double
        public var quantPSNR: Double
        public var quantSSIM: Double
        public init(name: String, fpPSNR: Double, fpSSIM: Double, quantPSNR: Double, quantSSIM: Double) {
            self.name = name; self.fpPSNR = fpPSNR; self.fpSSIM = fpSSIM; self.quantPSNR = quantPSNR; self.quantSSIM = quantSSIM
        }
        public var psnrDrop: Double { fpPSNR - quantPSNR }
    }

    /// Same-size crops of the worst image (largest PSNR drop) as PNG files.
    public struct Crops: Codable, Sendable {
        public var image: String
        /// Top-left corner and size of the crop in HR pixels.
        public var x: Int
        public var y: Int
        public var size: Int
        public var fpPNG: Data
        public var quantizedPNG: Data
        public var groundTruthPNG: Data
        public init(image: String, x: Int, y: Int, size: Int, fpPNG: Data, quantizedPNG: Data, groundTruthPNG: Data) {
            self.image = image; self.x = x; self.y = y; self.size = size
            self.fpPNG = fpPNG; self.quantizedPNG = quantizedPNG; self.groundTruthPNG = groundTruthPNG
        }
    }

    public var set: String
    public var scale: Int
    public var protocolDescription: String
    public var rows: [Row]
    public var crops: Crops?

    public init(set: String, scale: Int, protocolDescription: String, rows: [Row], crops: Crops?) {
        self.set = set; self.scale = scale; self.protocolDescription = protocolDescription; self.rows = rows; self.crops = crops
    }

    /// The image with the largest FP − quantized PSNR drop (first on ties); nil when there are no rows.
    public var worst: Row? {
        rows.enumerated().max { a, b in a.element.psnrDrop < b.element.psnrDrop || (a.element.psnrDrop == b.element.psnrDrop && a.offset > b.offset) }?.element
    }
}

import Foundation
import SREngine
import SRIO
import SRCalibration

/// Evaluates the FP and the quantized model on a benchmark set (official protocol) and cuts crops of the worst image.
public enum ImageProbe {
    public static func compare(model: any SRModel, qparams: QParams, set: BenchmarkSet, limit: Int?, cropSize: Int = 96,
                               log: ((String) -> Void)? = nil) throws -> ImageComparison {
        var fpImages: [RGBImage] = [], qImages: [RGBImage] = []
        QuantizedModel.remove(from: model)
        let fp = try SREvaluation.run(set: set, scale: set.scale, limit: limit, upscale: { lr in
            let out = try model.forward(lr); fpImages.append(try RGBImage(tensor: out)); return out
        }, progress: log.map { l in { l("FP " + $0) } })
        try QuantizedModel.apply(qparams, to: model)
        defer { QuantizedModel.remove(from: model) }
        let qr = try SREvaluation.run(set: set, scale: set.scale, limit: limit, upscale: { lr in
            let out = try model.forward(lr); qImages.append(try RGBImage(tensor: out)); return out
        }, progress: log.map { l in { l("quantized " + $0) } })
        let rows = zip(fp.images, qr.images).map {
            ImageComparison.Row(name: $0.name, fpPSNR: $0.psnrY, fpSSIM: $0.ssimY, quantPSNR: $1.psnrY, quantSSIM: $1.ssimY)
        }
        var result = ImageComparison(set: set.name, scale: set.scale, protocolDescription: fp.protocolDescription, rows: rows, crops: nil)
        if let worst = result.worst, let i = rows.firstIndex(where: { $0.name == worst.name }) {
            let hr = try set.images(i).hr
            let (x, y, c) = worstRegion(quantized: qImages[i], truth: hr, size: cropSize)
            func png(_ img: RGBImage) throws -> Data { Data(try PNGCodec.encode(try img.cropped(x: x, y: y, width: c, height: c))) }
            result.crops = .init(image: worst.name, x: x, y: y, size: c, fpPNG: try png(fpImages[i]), quantizedPNG: try png(qImages[i]),
                                 groundTruthPNG: try png(hr))
        }
        return result
    }

    /// Top-left corner (stride 8) and side of the `size`×`size` window (clipped to the image) with the largest
    /// summed absolute RGB difference between `quantized` and `truth` (same size).
    public static func worstRegion(quantized a: RGBImage, truth b: RGBImage, size: Int) -> (x: Int, y: Int, size: Int) {
        let w = min(a.width, b.width), h = min(a.height, b.height)
        let c = max(1, min(size, w, h))
        // summed-area table of per-pixel |Δ| summed over channels
        var sat = [Double](repeating: 0, count: (w + 1) * (h + 1))
        for yy in 0..<h {
            var row = 0.0
            for xx in 0..<w {
                var d = 0
                for ch in 0..<3 { d += abs(Int(a.pixels[(yy * a.width + xx) * 3 + ch]) - Int(b.pixels[(yy * b.width + xx) * 3 + ch])) }
                row += Double(d)
                sat[(yy + 1) * (w + 1) + xx + 1] = sat[yy * (w + 1) + xx + 1] + row
            }
        }
        var best = (x: 0, y: 0, v: -1.0)
        for yy in Swift.stride(from: 0, through: h - c, by: 8) {
            for xx in Swift.stride(from: 0, through: w - c, by: 8) {
                let v = sat[(yy + c) * (w + 1) + xx + c] - sat[yy * (w + 1) + xx + c] - sat[(yy + c) * (w + 1) + xx] + sat[yy * (w + 1) + xx]
                if v > best.v { best = (xx, yy, v) }
            }
        }
        return (best.x, best.y, c)
    }
}

import Foundation
import SRIO
import SREngine

/// Independent reference: the official per-image PSNR/SSIM (Y, border = scale) of DAT-light on Set5 ×2 and ×4
/// from ../shared/reference/fp-metrics.json (official DAT code + BasicSR util_psnr, torch 2.15.0). `produce` runs
/// this engine and this project's metrics on the same images. Tolerance: ±0.005 dB, ±5e-5 SSIM.
public struct FPMetricsGolden: GoldenProducer {
    public init() {}
    public let id = "fp-metrics"
    public let what = "DAT-light FP PSNR/SSIM per Set5 image at x2 and x4 (official protocol)"
    public let producer = "official DAT code + BasicSR calculate_psnr/calculate_ssim, torch 2.15.0 — ../shared/reference/fp-metrics.json"
    public let kind = GoldenKind.independentReference
    public let tolerance = GoldenTolerance(absolute: 0.005, relative: 0)

    public func tolerance(for key: String) -> GoldenTolerance {
        key.hasSuffix(".ssim") ? GoldenTolerance(absolute: 5e-5, relative: 0) : tolerance
    }

    public func produce(_ ctx: GoldenContext) throws -> [String: GoldenValue] {
        var v: [String: GoldenValue] = [:]
        for s in [2, 4] {
            let model = try ModelLoader.load(path: try ctx.shared("models/dat-light-x\(s).safetensors"))
            let set = try BenchmarkSet.load(dir: try ctx.shared("data/Set5"), scale: s)
            let r = try SREvaluation.run(set: set, scale: s, limit: nil, upscale: { try model.forward($0) }, progress: nil)
            for img in r.images {
                v["Set5_x\(s).\(img.name).psnr"] = .number(img.psnrY)
                v["Set5_x\(s).\(img.name).ssim"] = .number(img.ssimY)
            }
        }
        return v
    }

    public func expected(_ ctx: GoldenContext) throws -> [String: GoldenValue] {
        let results = try ReferenceMetrics.read(path: try ctx.shared("reference/fp-metrics.json")).results
        var v: [String: GoldenValue] = [:]
        for s in [2, 4] {
            guard let per = results["Set5_x\(s)"]?.perImage else { throw GoldenUnavailable("fp-metrics.json: no Set5_x\(s)") }
            for (name, m) in per {
                guard let p = m.psnrY, let q = m.ssimY else { continue }
                v["Set5_x\(s).\(name).psnr"] = .number(p)
                v["Set5_x\(s).\(name).ssim"] = .number(q)
            }
        }
        return v
    }
}

import Foundation
import Testing
import SREngine
import SRIO

/// End to end through the real engine: DAT-light ×2 (../shared/models) on Set5 'butterfly' (the
/// smallest image, 128×128 LR), scored by `SREvaluation`, against the official value in
/// fp-metrics.json (35.9176 dB / 0.97989). The engine is float32 like torch but not bit-identical,
/// so the bound is issue #4's ±0.005 dB on PSNR and 5e-5 on SSIM.
@Test(.enabled(if: SharedData.available, "needs ../shared"))
func datLightX2ButterflyMatchesOfficialMetric() throws {
    let model = try ModelLoader.load(path: SharedData.path("models/dat-light-x2.safetensors"))
    let full = try BenchmarkSet.load(dir: SharedData.path("data/Set5"), scale: 2)
    let one = BenchmarkSet(name: full.name, scale: 2, pairs: full.pairs.filter { $0.name == "butterfly" })
    let report = try SREvaluation.run(set: one, scale: 2, upscale: { try model.forward($0) })
    let r = try #require(report.images.first)
    print("butterfly: psnr \(r.psnrY) ssim \(r.ssimY) forward \(r.forwardSeconds) s")
    #expect(abs(r.psnrY - 35.9176) <= 0.005)
    #expect(abs(r.ssimY - 0.97989) <= 5e-5)
}

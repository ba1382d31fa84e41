import Foundation
import Testing
import SRIO
import HarmoQ

@Test(.enabled(if: SharedData.available, "needs ../shared"))
func benchmarkSetPairsFilesAndGeneratesMissingLR() throws {
    let x2 = try BenchmarkSet.load(dir: SharedData.path("data/Set5"), scale: 2)
    #expect(x2.name == "Set5")
    #expect(x2.pairs.map(\.name) == ["baby", "bird", "butterfly", "head", "woman"])
    #expect(x2.pairs.allSatisfy { $0.lrPath?.hasSuffix("/LR_bicubic/X2/\($0.name)x2.png") == true })
    let x3 = try BenchmarkSet.load(dir: SharedData.path("data/Set14"), scale: 3)   // no X3 files shipped
    #expect(x3.pairs.count == 14 && x3.pairs.allSatisfy { $0.lrPath == nil })
    let i = x3.pairs.firstIndex { $0.name == "comic" }!
    let (lr, hr) = try x3.images(i)                                                // comic HR is 250x361
    #expect(lr.width == 83 && lr.height == 120 && hr.width == 249 && hr.height == 360)
    #expect(throws: IOError.self) { try BenchmarkSet.load(dir: SharedData.path("data/train"), scale: 2) }
}

/// The evaluation loop fed the official DAT-light ×2 SR images (looked up by LR size, which is
/// unique in Set5) must reproduce the official means in fp-metrics.json: 38.236 dB / 0.96135.
@Test(.enabled(if: SharedData.available, "needs ../shared"))
func evaluationLoopReproducesOfficialMeansFromOfficialOutputs() throws {
    let set = try BenchmarkSet.load(dir: SharedData.path("data/Set5"), scale: 2)
    var bySize: [[Int]: Tensor] = [:]
    for p in set.pairs {
        let sr = try PNGCodec.read(path: SharedData.path("reference/dat-light-x2-set5-sr/\(p.name).png"))
        bySize[[sr.height / 2, sr.width / 2]] = sr.toTensor()
    }
    var lines: [String] = []
    let report = try SREvaluation.run(set: set, scale: 2, upscale: { lr in
        guard let t = bySize[[lr.shape[2], lr.shape[3]]] else { throw IOError("no reference for \(lr.shape)") }
        return t
    }, progress: { lines.append($0) })
    #expect(report.images.count == 5 && lines.count == 5)
    #expect(abs(report.meanPSNRY - 38.236) <= 0.5e-3, "\(report.meanPSNRY)")
    #expect(abs(report.meanSSIMY - 0.96135) <= 0.5e-5, "\(report.meanSSIMY)")
    let back = try EvalReport.decode(try report.jsonData())
    #expect(back.images.map(\.psnrY) == report.images.map(\.psnrY))
    // A wrong output shape is an error naming the image, not a crash.
    #expect(throws: IOError.self) {
        _ = try SREvaluation.run(set: set, scale: 2, limit: 1, upscale: { $0 })
    }
}

@Test(.enabled(if: SharedData.available, "needs ../shared"))
func calibrationPatchesAreReproducibleAndRefuseBenchmarks() throws {
    let sources = CalibrationPatches.defaultSources(sharedRoot: SharedData.root.path)
    let a = try CalibrationPatches.draw(count: 6, scale: 2, seed: 42, sources: sources)
    let b = try CalibrationPatches.draw(count: 6, scale: 2, seed: 42, sources: sources)
    let c = try CalibrationPatches.draw(count: 6, scale: 2, seed: 43, sources: sources)
    #expect(a.lr == b.lr && a.hr == b.hr && a.seed == 42)
    #expect(a.lr != c.lr)
    #expect(a.lr.allSatisfy { $0.shape == [1, 3, 64, 64] } && a.hr.allSatisfy { $0.shape == [1, 3, 128, 128] })
    // Each LR patch is the MATLAB-bicubic downscale of its recorded HR region.
    let o = a.origins[0]
    let region = try RGBImage.read(path: o.source).cropped(x: o.x, y: o.y, width: 128, height: 128)
    #expect(try MatlabBicubic.downscale(region, scale: 2).toTensor() == a.lr[0])
    #expect { _ = try CalibrationPatches.draw(count: 1, scale: 2, seed: 1, sources: [SharedData.path("data/Set5/HR")]) } throws: { e in
        (e as? IOError)?.message.contains("benchmark set") == true
    }
}

@Test func splitMix64MatchesPublishedSequence() {
    // Reference values for seed 1234567 from the xoshiro authors' splitmix64.c.
    var g = SplitMix64(seed: 1234567)
    #expect([g.next(), g.next(), g.next()] == [6457827717110365317, 3203168211198807973, 9817491932198370423])
}

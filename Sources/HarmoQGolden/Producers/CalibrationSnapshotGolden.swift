import Foundation
import HarmoQ
import SRIO
import SREngine
import SRCalibration

/// Self-regression: a small fixed calibration — DAT-light ×2, HarmoQ (corrected) W4A4, first 8 sites, 2 patches from
/// DIV2K-calib (seed 0), 20 ABR iterations: every site's activation bounds, per-channel weight bounds (sum), HSO
/// input scales (sum), corrected-weight checksums and L_total before/after.
public struct CalibrationSnapshotGolden: GoldenProducer {
    public init() {}
    public let id = "calibration-snapshot"
    public let what = "DAT-light x2, harmoq (corrected) W4A4, first 8 sites, 2 DIV2K-calib patches, seed 0, 20 ABR iterations: bounds, scales, weight checksums, per-site losses"
    public var producer: String { "harmoq \(GoldenInfo.toolVersion) (SRCalibration)" }
    public let kind = GoldenKind.selfRegression
    public let tolerance = GoldenTolerance(absolute: 1e-7, relative: 1e-5)

    public func produce(_ ctx: GoldenContext) throws -> [String: GoldenValue] {
        var config = HarmoQConfig.corrected(weightBits: 4, activationBits: 4)
        config.iterations = 20
        var o = ModelCalibrationOptions(method: .harmoq(config), weightBits: 4, activationBits: 4)
        o.siteLimit = 8
        o.seed = 0
        var r = CalibrationRun.Request(modelPath: try ctx.shared("models/dat-light-x2.safetensors"), options: o,
                                       sources: [try ctx.shared("data/DIV2K-calib")], toolVersion: "golden")
        r.patchCount = 2
        r.patchSeed = 0
        let q = try CalibrationRun.run(r).qparams
        var v: [String: GoldenValue] = [:]
        v["sites"] = .number(Double(q.sites.count))
        for s in q.sites {
            v["\(s.name).activation.lower"] = .number(Double(s.activationLower))
            v["\(s.name).activation.upper"] = .number(Double(s.activationUpper))
            if let l = s.layer {
                v["\(s.name).weight.lower.sum"] = .number(l.weightLower.reduce(0) { $0 + Double($1) })
                v["\(s.name).weight.upper.sum"] = .number(l.weightUpper.reduce(0) { $0 + Double($1) })
                v["\(s.name).weight.sum"] = .number(l.weight.reduce(0) { $0 + Double($1) })
                v["\(s.name).weight.sumsq"] = .number(l.weight.reduce(0) { $0 + Double($1) * Double($1) })
                if let sc = l.inputScale { v["\(s.name).input-scale.sum"] = .number(sc.reduce(0) { $0 + Double($1) }) }
            }
            if let b = s.before { v["\(s.name).loss.before"] = .number(b.deployment) }
            if let a = s.after { v["\(s.name).loss.after"] = .number(a.deployment) }
        }
        return v
    }
}

import Foundation
import HarmoQ
import SREngine
import SRIO

/// One end-to-end calibration as `harmoq calibrate` runs it: draw patches, calibrate every site, build the QPARAMS.
public enum CalibrationRun {
    public struct Request: Sendable {
        public var modelPath: String
        public var options: ModelCalibrationOptions
        public var patchCount = 32
        public var patchSeed: UInt64 = 0
        public var sources: [String]
        public var toolVersion: String
        /// Sites already calibrated by an interrupted run (see `ModelCalibrator.calibrate(resume:)`).
        public var resume: [SiteQuantization] = []
        /// Called after every site (see `ModelCalibrator.calibrate(onSite:)`); throwing stops the run.
        public var onSite: (@Sendable (Int, SiteQuantization) throws -> Void)?
        public init(modelPath: String, options: ModelCalibrationOptions, sources: [String], toolVersion: String) {
            self.modelPath = modelPath; self.options = options; self.sources = sources; self.toolVersion = toolVersion
        }
    }

    public struct Outcome: Sendable {
        public var qparams: QParams
        public var seconds: Double
        public var peakMemoryMiB: Double?
    }

    public static func run(_ r: Request, log: ((String) -> Void)? = nil) throws -> Outcome {
        let t0 = Date()
        let weights = try ModelLoader.readStateDict(path: r.modelPath)
        let probe = try ModelLoader.build(weights: weights, source: r.modelPath)
        let patches = try CalibrationPatches.draw(count: r.patchCount, scale: probe.scale, seed: r.patchSeed, sources: r.sources)
        log?("calibrating \(probe.architecture.rawValue) ×\(probe.scale), \(probe.sites.count) sites, method \(r.options.method.name), " +
             "W\(r.options.weightBits)A\(r.options.activationBits)\(r.options.rotation.map { ", --rotate \($0.rawValue)" } ?? ""), \(r.patchCount) LR patches 64×64 (seed \(r.patchSeed)) from \(r.sources.map { ($0 as NSString).lastPathComponent }.joined(separator: ", ")); " +
             "the paper's 1000-image calibration set is not available here")
        let sites = try ModelCalibrator.calibrate(weights: weights, patches: patches.lr, options: r.options,
                                                   resume: r.resume, onSite: r.onSite) { p in log?(p.line) }
        var notes = ["calibration patches: \(r.patchCount) LR 64×64 crops drawn with seed \(r.patchSeed); the paper used 1000 DIV2K images"]
        if r.options.fpInputs { notes.append("every site calibrated on FP inputs") }
        if let k = r.options.rotation {
            notes.append("online \(k.rawValue) rotations at \(sites.filter { $0.rotation != nil }.count) sites (inputs of \(RotationPolicy.Layer.allCases.filter(r.options.rotationLayers.contains).map(\.rawValue).joined(separator: ", "))): x → x·R before the quantizer, stored weights W·R")
        }
        var qp = QParams(calibrated: r.options, modelPath: r.modelPath, architecture: probe.architecture.rawValue,
                         scale: probe.scale, toolVersion: r.toolVersion, patchCount: r.patchCount,
                         patchSources: patches.origins.map { "\(($0.source as NSString).lastPathComponent)@\($0.x),\($0.y)" },
                         notes: notes, sites: sites)
        qp.modelFingerprint = ModelFingerprint.of(weights)
        return Outcome(qparams: qp, seconds: Date().timeIntervalSince(t0), peakMemoryMiB: ProcessMemory.peakResidentMiB())
    }
}

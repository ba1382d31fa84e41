import Foundation
import HarmoQ

extension QParams {
    /// The plan of a per-site calibration: method name, bits, seed, input mode and HarmoQ config come from `options`
    /// (one place for every writer: `CalibrationRun`, its checkpoint, `PaperTables`). `modelPath`'s last component is
    /// recorded as the model; the fingerprint is left to the caller (it needs the weights).
    public init(calibrated options: ModelCalibrationOptions, modelPath: String, architecture: String, scale: Int,
                toolVersion: String, patchCount: Int, patchSources: [String], notes: [String], sites: [SiteQuantization]) {
        var config: HarmoQConfig?
        if case .harmoq(let c) = options.method { config = c }
        self.init(toolVersion: toolVersion, model: (modelPath as NSString).lastPathComponent, architecture: architecture,
                  scale: scale, method: options.method.name, weightBits: options.weightBits,
                  activationBits: options.activationBits, seed: options.seed,
                  inputs: options.fpInputs ? "fp" : "quantized-prefix", patchCount: patchCount,
                  patchSources: patchSources, notes: notes, config: config, sites: sites)
        rotation = options.rotation
        operandRotation = options.operandRotation
    }
}

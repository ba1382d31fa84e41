import Foundation
import HarmoQ
import SREngine
import SRIO
import SRCalibration

/// The audit measurements that run the model: activation SQNR and per-site sensitivity on fixed LR patches.
public enum ModelProbes {
    /// SQNR (dB) of every quantized site's input on an FP forward over `patches` (the model is left as found: FP).
    public static func activationSQNR(model: any SRModel, qparams q: QParams, patches: [Tensor]) throws -> [String: Double] {
        var quantizers: [String: (Quantizer, [Float]?)] = [:]
        for s in q.sites { if let a = s.activationPlan { quantizers[s.name] = (try a.quantizer(), s.inputScale) } }
        try fpModel(model, q)
        let hook = ActivationSQNRHook(quantizers: quantizers, rotations: try onlineRotations(q))
        model.hook = hook
        defer { model.hook = nil }
        for p in patches { _ = try model.forward(p) }
        var out: [String: Double] = [:]
        for name in quantizers.keys {
            if let v = AuditManifest.sqnrDB(signal: hook.signal[name] ?? 0, noise: hook.noise[name] ?? 0) { out[name] = v }
        }
        return out
    }

    /// For every site of the QPARAMS: the clamped output MSE against the FP model with only that site's weights
    /// quantized (input divided by its HSO scales, not quantized) and with only its input quantized (weight = the
    /// calibrated weight, unquantized). Everything else stays float. One forward per site and side and patch.
    public static func sensitivity(model: any SRModel, qparams q: QParams, patches: [Tensor],
                                   log: ((String) -> Void)? = nil) throws -> [AuditReport.SensitivityRow] {
        try fpModel(model, q)
        defer { QuantizedModel.remove(from: model) }
        let reference = try patches.map { try model.forward($0).data }
        func error() throws -> Double {
            var total = 0.0
            for (i, p) in patches.enumerated() { total += clampedMSE(try model.forward(p).data, reference[i]) }
            return total / Double(patches.count)
        }
        var rows: [AuditReport.SensitivityRow] = []
        let rotations = try onlineRotations(q)
        let start = Date()
        for (k, s) in q.sites.enumerated() {
            let site = try model.site(named: s.name)
            var wOnly: Double?, aOnly: Double?
            if s.weightPlan != nil, let qw = try s.appliedWeight() {
                try model.setLinearWeight(site, qw)
                model.hook = SingleSiteHook(target: s.name, quantizer: nil, scale: s.inputScale, rotation: rotations[s.name])
                wOnly = try error()
                try fpModel(model, q)
            }
            if let a = s.activationPlan {
                if let w = s.correctedWeight { try model.setLinearWeight(site, w) }
                model.hook = SingleSiteHook(target: s.name, quantizer: try a.quantizer(), scale: s.inputScale,
                                            rotation: rotations[s.name])
                aOnly = try error()
                try fpModel(model, q)
            }
            model.hook = nil
            rows.append(.init(site: s.name, weightOnlyMSE: wOnly, activationOnlyMSE: aOnly))
            if (k + 1) % 20 == 0 || k + 1 == q.sites.count {
                log?(String(format: "sensitivity: %d/%d sites (%.0f s)", k + 1, q.sites.count, Date().timeIntervalSince(start)))
            }
        }
        return rows
    }

    /// The plan's FP model: the loaded weights, with the plan's folded operand rotations (`OperandRotationFold`) when it
    /// has them (FP outputs unchanged; the q/k operands rotated as the plan's quantizers see them).
    static func fpModel(_ model: any SRModel, _ q: QParams) throws {
        QuantizedModel.remove(from: model)
        if let r = q.operandRotation { try OperandRotationFold.install(r, on: model) }
    }

    /// The plan's online rotations by site name.
    static func onlineRotations(_ q: QParams) throws -> [String: OnlineRotation] {
        var out: [String: OnlineRotation] = [:]
        for s in q.sites { if let r = s.rotation { out[s.name] = OnlineRotation(try r.rotation()) } }
        return out
    }
}

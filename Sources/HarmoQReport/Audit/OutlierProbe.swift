import Foundation
import HarmoQ
import SREngine
import SRCalibration
import SRIO

/// Reads every activation-quantized site's input on a forward (leaving it unchanged) and accumulates its outlier
/// statistics three ways: as the site receives it (x), after the plan's online rotation (x·R, rotated sites only) and
/// as the quantizer receives it (divided by the HSO scales, sites with scales only).
final class OutlierHook: ActivationHook {
    struct Target {
        var rotation: OnlineRotation?
        var scale: [Float]?
    }
    let targets: [String: Target]
    private(set) var input: [String: MomentAccumulator] = [:]
    private(set) var rotated: [String: MomentAccumulator] = [:]
    private(set) var scaled: [String: MomentAccumulator] = [:]

    init(targets: [String: Target]) { self.targets = targets }

    func process(site: Site, index: Int, values raw: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int) {
        guard let t = targets[site.name] else { return }
        input[site.name, default: .init()].add(UnsafeBufferPointer(raw))
        var current = Array(raw)
        if let r = t.rotation, r.order == cols {
            current = r.rotated(UnsafeBufferPointer(raw), rows: rows)
            rotated[site.name, default: .init()].add(current)
        }
        if let s = t.scale, s.count == cols {
            for i in current.indices { current[i] /= s[i % cols] }
            scaled[site.name, default: .init()].add(current)
        }
    }
}

extension ModelProbes {
    /// Outlier statistics (max |x| / RMS, kurtosis) of every activation-quantized site's input on an FP forward over
    /// `patches`, before and after the plan's online rotation and after the HSO scales (the model is left as found: FP).
    public static func outliers(model: any SRModel, qparams q: QParams, patches: [Tensor], source: String) throws -> AuditReport.Outliers {
        let rotations = try onlineRotations(q)
        var targets: [String: OutlierHook.Target] = [:]
        for s in q.sites where s.activationPlan != nil {
            targets[s.name] = .init(rotation: rotations[s.name], scale: s.inputScale)
        }
        try fpModel(model, q)
        let hook = OutlierHook(targets: targets)
        model.hook = hook
        defer { model.hook = nil }
        for p in patches { _ = try model.forward(p) }
        let rows = q.sites.compactMap { s -> AuditReport.OutlierRow? in
            guard let m = hook.input[s.name] else { return nil }
            return .init(site: s.name, input: .init(m), rotated: hook.rotated[s.name].map(AuditReport.OutlierStats.init),
                         scaled: hook.scaled[s.name].map(AuditReport.OutlierStats.init))
        }
        return .init(source: source, planRotates: !rotations.isEmpty, rows: rows)
    }
}

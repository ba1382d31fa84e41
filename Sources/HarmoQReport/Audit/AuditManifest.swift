import Foundation
import HarmoQ
import SRCalibration

/// The parts of an audit that come from the QPARAMS alone (no forward pass): the manifest, the bound/step
/// statistics, the L_total rows, the solve certificates and the weight SQNR.
public enum AuditManifest {
    /// One model site: name and a kind string ("linear 60→180", "matmul operand").
    public struct SiteInfo: Sendable {
        public var name: String
        public var kind: String
        public init(name: String, kind: String) { self.name = name; self.kind = kind }
    }

    public static func rows(sites: [SiteInfo], qparams q: QParams) throws -> [AuditReport.ManifestRow] {
        let byName = Dictionary(q.sites.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let known = Set(sites.map(\.name))
        if let stray = q.sites.first(where: { !known.contains($0.name) }) {
            throw ReportError("QPARAMS site '\(stray.name)' is not a site of the model")
        }
        return try sites.map { info in
            guard let s = byName[info.name] else { return AuditReport.ManifestRow(site: info.name, kind: info.kind, inQParams: false) }
            var row = AuditReport.ManifestRow(site: s.name, kind: info.kind, inQParams: true, weightQuantized: s.weightPlan != nil,
                                              activationQuantized: s.activationPlan != nil, activationBits: s.activationBits,
                                              activationScheme: s.activationScheme.rawValue, rounding: s.rounding.rawValue)
            if let a = s.activationPlan {
                let aq = try a.quantizer()
                row.activationLower = Double(aq.lower); row.activationUpper = Double(aq.upper); row.activationStep = Double(aq.step)
            }
            if let l = s.layer {
                row.weightBits = l.weightBits; row.weightGranularity = l.weightGranularity; row.weightScheme = l.weightScheme.rawValue
                row.inputScaled = s.inputScale != nil
                if let w = s.weightPlan {
                    let steps = try w.quantizers().map { Double($0.step) }
                    row.weightLowerMin = w.lower.map(Double.init).min(); row.weightUpperMax = w.upper.map(Double.init).max()
                    row.weightStepMin = steps.min(); row.weightStepMax = steps.max()
                }
            }
            return row
        }
    }

    public static func bounds(_ q: QParams) throws -> AuditReport.BoundsData {
        var aSteps: [Double] = [], aUpper: [Double] = [], wSteps: [Double] = []
        for s in q.sites {
            if let a = s.activationPlan { let aq = try a.quantizer(); aSteps.append(Double(aq.step)); aUpper.append(Double(aq.upper)) }
            if let w = s.weightPlan { wSteps += try w.quantizers().map { Double($0.step) } }
        }
        return .init(activationSteps: aSteps, activationUppers: aUpper, weightSteps: wSteps)
    }

    public static func convergence(_ q: QParams) -> [AuditReport.ConvergenceRow] {
        q.sites.compactMap { s in
            guard s.before != nil || s.after != nil || s.convergence != nil else { return nil }
            return .init(site: s.name, before: s.before?.deployment, after: s.after?.deployment, linearisedBefore: s.before?.linearised,
                         linearisedAfter: s.after?.linearised, traceIterations: s.convergence?.iterations, traceLosses: s.convergence?.losses)
        }
    }

    public static func certificates(_ q: QParams) -> [AuditReport.CertificateRow] {
        q.sites.compactMap { s in s.solveCertificate.map { .init(site: s.name, certificate: $0) } }
    }

    /// 10·log10(signal / noise); +inf for zero noise, nil for zero signal.
    public static func sqnrDB(signal: Double, noise: Double) -> Double? {
        guard signal > 0 else { return nil }
        return noise > 0 ? 10 * log10(signal / noise) : .infinity
    }

    /// SQNR of a site's calibrated weight against its quantization (nil when the weight is not quantized).
    public static func weightSQNR(_ s: SiteQuantization) throws -> Double? {
        guard s.weightPlan != nil, let w0 = s.correctedWeight?.data, let qw = try s.appliedWeight()?.data else { return nil }
        var sig = 0.0, noise = 0.0
        for i in w0.indices { let w = Double(w0[i]), d = w - Double(qw[i]); sig += w * w; noise += d * d }
        return sqnrDB(signal: sig, noise: noise)
    }
}

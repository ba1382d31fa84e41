import Foundation
import HarmoQ
import SRCalibration

/// Renders an `AuditReport` as Markdown (tables only; the charts and crops are in the HTML report beside it).
/// Each section starts with `<a id="…"></a>` carrying the same id as in the HTML.
public enum AuditMarkdown {
    public static func render(_ r: AuditReport, htmlName: String) -> String {
        let h = r.header
        var s = "# Quantization audit: \(t(h.model))\n\n"
        s += "QPARAMS \(t(h.qparams)) · \(t(h.architecture)) ×\(h.scale) · \(t(h.method)) \(t(h.bits)) · harmoq \(t(h.toolVersion))\n\n"
        s += "Made by `\(h.command.replacingOccurrences(of: "`", with: "'"))`. Charts and crops: [\(t(htmlName))](\(t(htmlName))).\n"
        for n in h.notes { s += "\n> \(t(n))\n" }
        s += head("manifest", "Quantization manifest")
        s += table(["site", "kind", "quantized", "W bits", "A bits", "W granularity", "A bounds", "A step", "W step (min … max)"],
                   r.manifest.map { m in
                       [m.site, m.kind, m.inQParams ? [m.weightQuantized ? "W" : nil, m.activationQuantized ? "A" : nil].compactMap { $0 }.joined(separator: "+") : "FP",
                        m.weightQuantized ? m.weightBits.map(String.init) ?? "—" : "—", m.activationQuantized ? m.activationBits.map(String.init) ?? "—" : "—",
                        m.weightGranularity?.rawValue ?? "—",
                        m.activationLower.map { "[\(Markup.number($0)), \(Markup.number(m.activationUpper))]" } ?? "—",
                        Markup.number(m.activationStep),
                        m.weightStepMin.map { "\(Markup.number($0)) … \(Markup.number(m.weightStepMax))" } ?? "—"]
                   })
        s += head("sqnr", "Per-site SQNR (dB)")
        s += "Activations on \(t(r.sqnrInput)).\n\n"
        s += table(["site", "weight", "activation"], r.sqnr.map { [$0.site, Markup.number($0.weightDB), Markup.number($0.activationDB)] })
        s += head("outliers", "Outliers of the quantizer inputs (max/RMS, kurtosis)")
        if let o = r.outliers {
            s += t(OutlierText.explanation(o)) + "\n\n"
            s += o.rows.isEmpty ? "no site with a quantized input\n" : table(OutlierText.head(o), OutlierText.rows(o))
        } else { s += "not measured\n" }
        s += head("sensitivity", "Sensitivity: weight-only vs activation-only (MSE vs FP output)")
        if let sens = r.sensitivity {
            s += "Patches: \(t(sens.patches.joined(separator: "; "))).\n\n"
            s += table(["site", "weight-only", "activation-only"], sens.rows.map { [$0.site, Markup.number($0.weightOnlyMSE), Markup.number($0.activationOnlyMSE)] })
        } else { s += t(r.sensitivityNote ?? "not measured") + "\n" }
        s += head("bounds", "Bounds and step sizes")
        func summary(_ v: [Double]) -> String {
            let f = v.filter(\.isFinite).sorted()
            guard let lo = f.first, let hi = f.last else { return "none" }
            return "\(f.count) values, min \(Markup.number(lo)), median \(Markup.number(f[f.count / 2])), max \(Markup.number(hi))"
        }
        s += "- activation steps: \(summary(r.bounds.activationSteps))\n- weight steps (per channel): \(summary(r.bounds.weightSteps))\n"
        s += "- activation upper bounds: \(summary(r.bounds.activationUppers))\n"
        s += head("convergence", "L_total before → after")
        s += r.convergence.isEmpty ? "not recorded\n" : table(["site", "before", "after", "linearised before", "linearised after", "trace points"],
            r.convergence.map { [$0.site, Markup.number($0.before), Markup.number($0.after), Markup.number($0.linearisedBefore),
                                 Markup.number($0.linearisedAfter), $0.traceLosses.map { "\($0.count)" } ?? "—"] })
        for (k, rec) in (r.refinements ?? []).enumerated() {
            s += "\nOutput-level refinement \(k + 1) (\(rec.mode)): \(t(rec.settings)); \(rec.patches) patches.\n\n"
            s += table(["stage", "before", "after", "change", "kept iteration", "trace points"], AuditHTML.refinementRows(rec))
        }
        s += head("certificates", "Solve certificates")
        s += r.certificates.isEmpty ? "not recorded\n" : table(["site", "Cholesky", "jitter", "escalations", "scaled residual"],
            r.certificates.map { [$0.site, $0.certificate.choleskySucceeded ? "ok" : "failed", Markup.number($0.certificate.jitterUsed),
                                  "\($0.certificate.escalations)", Markup.number($0.certificate.scaledResidual)] })
        s += head("verdicts", "Theorem and quantizer verdicts")
        s += "Source: \(t(r.verdicts.source)).\n\n"
        s += table(["claim", "verdict", "reproduced", "summary"], r.verdicts.rows.map { [$0.claim, $0.verdict, $0.reproduced ?? "—", $0.summary ?? ""] })
        s += head("images", "Per-image PSNR/SSIM")
        if let c = r.images {
            s += "\(t(c.set)) ×\(c.scale).\n\n"
            s += table(["image", "FP PSNR", "quantized PSNR", "drop", "FP SSIM", "quantized SSIM"],
                       c.rows.map { [$0.name, Markup.fixed($0.fpPSNR, 4), Markup.fixed($0.quantPSNR, 4), Markup.fixed($0.psnrDrop, 4),
                                     Markup.fixed($0.fpSSIM, 5), Markup.fixed($0.quantSSIM, 5)] })
        } else { s += t(r.imagesNote ?? "not measured") + "\n" }
        s += head("crops", "Crops of the worst image")
        if let c = r.images?.crops { s += "\(t(c.image)), HR region x=\(c.x) y=\(c.y), \(c.size)×\(c.size): see [\(t(htmlName))](\(t(htmlName))#crops).\n" }
        else { s += t(r.imagesNote ?? "not measured") + "\n" }
        s += head("onnx", "ONNX runtime comparison")
        if let o = r.onnx {
            s += "onnxruntime \(t(o.onnxruntime)).\n\n"
            s += table(["site", "elements", "max |Δ|", "tie mismatches", "other mismatches"],
                       o.sites.map { [$0.site, "\($0.elements)", Markup.number($0.maxAbsDiff), "\($0.tieMismatches)", "\($0.otherMismatches)"] })
        } else { s += "not given (pass --onnx-report FILE)\n" }
        return s
    }

    /// Free text outside tables: HTML specials escaped.
    static func t(_ s: String) -> String { Markup.escape(s) }

    static func head(_ id: String, _ title: String) -> String { "\n<a id=\"\(id)\"></a>\n## \(title)\n\n" }

    static func table(_ head: [String], _ rows: [[String]]) -> String {
        var s = "| " + head.map(Markup.markdownCell).joined(separator: " | ") + " |\n|" + head.map { _ in "---|" }.joined() + "\n"
        for r in rows { s += "| " + r.map(Markup.markdownCell).joined(separator: " | ") + " |\n" }
        return s
    }
}

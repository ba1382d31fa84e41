import Foundation
import HarmoQ
import SRCalibration

/// Renders an `AuditReport` as one self-contained HTML file: inline CSS, inline SVG charts and inline base64 PNG
/// crops; no script, no external resource. Every section is a `<section id="…">` with an id from
/// `AuditReport.sectionIDs`, present even when its data is missing (it then says why).
public enum AuditHTML {
    public static func render(_ r: AuditReport) -> String {
        var s = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        s += "<title>\(Markup.escape("harmoq audit — \(r.header.model)"))</title><style>\(css)</style></head><body>\n"
        s += header(r.header)
        s += "<nav>" + AuditReport.sectionIDs.map { "<a href=\"#\($0)\">\($0)</a>" }.joined(separator: " · ") + "</nav>\n"
        s += manifest(r) + sqnr(r) + outliers(r) + sensitivity(r) + bounds(r) + convergence(r) + certificates(r) + verdicts(r)
        s += images(r) + crops(r) + onnx(r)
        return s + "</body></html>\n"
    }

    static let css = """
    body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1400px}h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;\
    padding-bottom:.2em;margin-top:1.6em}table{border-collapse:collapse;font-size:12px;margin:.5em 0}th,td{border:1px solid #ccc;\
    padding:2px 6px;text-align:right}th{background:#f0f0f0}td.l,th.l{text-align:left}.scroll{overflow-x:auto;max-width:100%}\
    .note{color:#555;font-style:italic}.fp{color:#888}.crop{display:inline-block;margin-right:1em;text-align:center}\
    .crop img{image-rendering:pixelated;width:288px;height:288px;border:1px solid #999}nav{font-size:13px;margin:.5em 0}\
    details{margin:.5em 0}.tall{max-height:520px;overflow:auto;display:inline-block;max-width:100%}.row{display:flex;flex-wrap:wrap;gap:1em}
    """

    static func e(_ s: String) -> String { Markup.escape(s) }
    static func n(_ v: Double?) -> String { e(Markup.number(v)) }

    static func section(_ id: String, _ title: String, _ body: String) -> String {
        "<section id=\"\(id)\"><h2>\(e(title))</h2>\n\(body)</section>\n"
    }

    static func table(_ head: [String], _ rows: [[String]], leftColumns: Int = 1, rowClass: (Int) -> String? = { _ in nil }) -> String {
        var s = "<div class=\"scroll\"><table><thead><tr>"
        for (i, h) in head.enumerated() { s += "<th\(i < leftColumns ? " class=\"l\"" : "")>\(e(h))</th>" }
        s += "</tr></thead><tbody>\n"
        for (k, row) in rows.enumerated() {
            s += "<tr\(rowClass(k).map { " class=\"\($0)\"" } ?? "")>"
            for (i, c) in row.enumerated() { s += "<td\(i < leftColumns ? " class=\"l\"" : "")>\(e(c))</td>" }
            s += "</tr>\n"
        }
        return s + "</tbody></table></div>\n"
    }

    static func chart(_ svg: String) -> String { "<div class=\"scroll\">\(svg)</div>\n" }
    static func note(_ t: String) -> String { "<p class=\"note\">\(e(t))</p>\n" }

    static func header(_ h: AuditReport.Header) -> String {
        var s = "<h1>\(e("Quantization audit: \(h.model)"))</h1>\n"
        s += table(["field", "value"], [["model", h.model], ["QPARAMS", h.qparams], ["architecture", "\(h.architecture) ×\(h.scale)"],
                                        ["method", h.method], ["bits", h.bits], ["tool", "harmoq \(h.toolVersion)"], ["command", h.command]],
                   leftColumns: 2)
        for line in h.notes { s += note(line) }
        return s
    }

    static func manifest(_ r: AuditReport) -> String {
        let q = r.manifest.filter { $0.inQParams }
        var s = "<p>\(r.manifest.count) sites: \(q.filter(\.weightQuantized).count) with quantized weights, "
        s += "\(q.filter(\.activationQuantized).count) with quantized inputs, \(r.manifest.count - q.count) left in float (not in the QPARAMS).</p>\n"
        let rows = r.manifest.map { m -> [String] in
            guard m.inQParams else { return [m.site, m.kind, "FP", "—", "—", "—", "—", "—", "—", "—", "—", "—"] }
            return [m.site, m.kind, [m.weightQuantized ? "W" : nil, m.activationQuantized ? "A" : nil].compactMap { $0 }.joined(separator: "+"),
                    "W\(m.weightQuantized ? m.weightBits.map(String.init) ?? "—" : " fp") A\(m.activationQuantized ? m.activationBits.map(String.init) ?? "—" : " fp")",
                    m.weightGranularity.map { "W \($0.rawValue) / A perTensor" } ?? "A perTensor",
                    [m.weightScheme.map { "W \($0)" }, m.activationScheme.map { "A \($0)" }].compactMap { $0 }.joined(separator: ", "),
                    m.rounding ?? "—",
                    m.activationLower.map { "[\(Markup.number($0)), \(Markup.number(m.activationUpper))]" } ?? "—",
                    Markup.number(m.activationStep),
                    m.weightLowerMin.map { "[\(Markup.number($0)), \(Markup.number(m.weightUpperMax))]" } ?? "—",
                    m.weightStepMin.map { "\(Markup.number($0)) … \(Markup.number(m.weightStepMax))" } ?? "—",
                    m.inputScaled ? "yes" : "no"]
        }
        s += "<div class=\"tall\">"
        s += table(["site", "kind", "quantized", "bits", "granularity", "scheme", "rounding", "activation bounds", "activation step",
                    "weight bounds (min lower, max upper)", "weight step (min … max)", "HSO scales"],
                   rows, leftColumns: 3, rowClass: { r.manifest[$0].inQParams ? nil : "fp" })
        s += "</div>\n"
        return section("manifest", "Quantization manifest", s)
    }

    static func sqnr(_ r: AuditReport) -> String {
        var s = note("SQNR = 10·log10(Σv² / Σ(v − Q(v))²). Weights: the calibrated (corrected) weight against its quantization. "
                     + "Activations: each site's input (divided by the HSO scales where present) against its quantization, on \(r.sqnrInput).")
        if r.sqnr.isEmpty { return section("sqnr", "Per-site SQNR", s + note("no quantized site")) }
        s += chart(AuditCharts.sqnr(r.sqnr).svg())
        s += "<details><summary>table</summary>" + table(["site", "weight SQNR (dB)", "activation SQNR (dB)"],
                                                         r.sqnr.map { [$0.site, Markup.number($0.weightDB), Markup.number($0.activationDB)] }) + "</details>\n"
        return section("sqnr", "Per-site SQNR", s)
    }

    static let outliersTitle = "Outliers: max/RMS and kurtosis of the quantizer inputs, before and after rotation"

    static func outliers(_ r: AuditReport) -> String {
        guard let o = r.outliers else { return section("outliers", outliersTitle, note("not measured")) }
        var s = note(OutlierText.explanation(o))
        if o.rows.isEmpty { return section("outliers", outliersTitle, s + note("no site with a quantized input")) }
        s += chart(AuditCharts.outliers(o).svg())
        s += "<details><summary>table</summary>" + table(OutlierText.head(o), OutlierText.rows(o)) + "</details>\n"
        return section("outliers", outliersTitle, s)
    }

    static func sensitivity(_ r: AuditReport) -> String {
        guard let sens = r.sensitivity else {
            return section("sensitivity", "Sensitivity: weight-only vs activation-only (paper Figure 2)",
                           note(r.sensitivityNote ?? "not measured"))
        }
        var s = note("Each bar: the model with only that site's weights (or only its input activations) quantized as in the QPARAMS, "
                     + "all else float; error = mean squared difference from the FP model's output on \(sens.patches.count) fixed 64×64 LR "
                     + "patch(es) not from a test set: \(sens.patches.joined(separator: "; ")). Measured in \(Markup.number(sens.seconds, digits: 3)) s.")
        s += chart(AuditCharts.sensitivity(sens).svg())
        s += "<details><summary>table</summary>" + table(["site", "weight-only MSE", "activation-only MSE"],
                                                         sens.rows.map { [$0.site, Markup.number($0.weightOnlyMSE), Markup.number($0.activationOnlyMSE)] }) + "</details>\n"
        return section("sensitivity", "Sensitivity: weight-only vs activation-only (paper Figure 2)", s)
    }

    static func bounds(_ r: AuditReport) -> String {
        let b = r.bounds
        var s = note("Step = (upper − lower) / (2^bits − 1): \(b.activationSteps.count) activation quantizers, \(b.weightSteps.count) weight channels.")
        s += "<div class=\"row\">" + AuditCharts.bounds(b).map { $0.svg() }.joined(separator: "\n") + "</div>\n"
        return section("bounds", "Bounds and step sizes", s)
    }

    static func convergence(_ r: AuditReport) -> String {
        var s: String
        if r.convergence.isEmpty {
            s = note("no linear site with L_total recorded in the QPARAMS sidecar")
        } else {
            s = note("L_total = E‖W₀x − Q(W_c)·Q(x ⊘ s)‖² (deployment) and its linearisation, at the MinMax start (before) and after "
                     + "calibration, from the QPARAMS sidecar.")
            s += chart(AuditCharts.convergenceRatio(r.convergence).svg())
            if let lc = AuditCharts.convergenceTraces(r.convergence) { s += chart(lc.svg()) }
            else { s += note("per-iteration ABR traces: not recorded in this QPARAMS (optional `convergence` field of each site)") }
            s += "<details><summary>table</summary>" + table(["site", "before", "after", "linearised before", "linearised after", "trace points"],
                r.convergence.map { [$0.site, Markup.number($0.before), Markup.number($0.after), Markup.number($0.linearisedBefore),
                                     Markup.number($0.linearisedAfter), $0.traceLosses.map { "\($0.count)" } ?? "—"] }) + "</details>\n"
        }
        for (k, rec) in (r.refinements ?? []).enumerated() {
            s += "<h3>Output-level refinement \(k + 1): \(e(rec.mode))</h3>\n"
            s += note("\(rec.settings); \(rec.patches) calibration patches. Loss on all patches before and after; the kept iteration "
                      + "(0 = start values kept).")
            if let lc = AuditCharts.refinementTraces(rec) { s += chart(lc.svg()) }
            s += table(["stage", "before", "after", "change", "kept iteration", "trace points"], Self.refinementRows(rec))
        }
        return section("convergence", "L_total convergence", s)
    }

    static func refinementRows(_ rec: RefinementRecord) -> [[String]] {
        rec.stages.map { st in
            [st.name, Markup.number(st.lossBefore), Markup.number(st.lossAfter),
             st.lossBefore > 0 ? String(format: "%+.1f%%", 100 * (st.lossAfter - st.lossBefore) / st.lossBefore) : "—",
             "\(st.bestIteration)", "\(st.trace.count)"]
        }
    }

    static func certificates(_ r: AuditReport) -> String {
        guard !r.certificates.isEmpty else {
            return section("certificates", "Solve certificates", note("not recorded (this QPARAMS carries no `solveCertificate` per site)"))
        }
        let s = table(["site", "Cholesky", "jitter", "escalations", "scaled residual", "1/κ estimate"],
                      r.certificates.map { [$0.site, $0.certificate.choleskySucceeded ? "ok" : "failed", Markup.number($0.certificate.jitterUsed),
                                            "\($0.certificate.escalations)", Markup.number($0.certificate.scaledResidual),
                                            Markup.number($0.certificate.reciprocalConditionEstimate)] })
        return section("certificates", "Solve certificates", s)
    }

    static func verdicts(_ r: AuditReport) -> String {
        var s = note("Source: \(r.verdicts.source).")
        s += table(["claim", "verdict", "reproduced", "passed", "failed", "summary"],
                   r.verdicts.rows.map { [$0.claim, $0.verdict, $0.reproduced ?? "—", $0.passed.map(String.init) ?? "—",
                                          $0.failed.map(String.init) ?? "—", $0.summary ?? ""] }, leftColumns: 2)
        return section("verdicts", "Theorem and quantizer verdicts", s)
    }

    static func images(_ r: AuditReport) -> String {
        guard let c = r.images else { return section("images", "Per-image PSNR/SSIM", note(r.imagesNote ?? "not measured")) }
        var s = note("\(c.set) ×\(c.scale); protocol: \(c.protocolDescription)")
        let rows = c.rows.map { [$0.name, Markup.fixed($0.fpPSNR, 4), Markup.fixed($0.quantPSNR, 4), Markup.fixed($0.psnrDrop, 4),
                                 Markup.fixed($0.fpSSIM, 5), Markup.fixed($0.quantSSIM, 5)] }
        let mean = { (f: (ImageComparison.Row) -> Double) in c.rows.isEmpty ? Double.nan : c.rows.map(f).reduce(0, +) / Double(c.rows.count) }
        s += table(["image", "FP PSNR", "quantized PSNR", "drop (dB)", "FP SSIM", "quantized SSIM"],
                   rows + [["mean", Markup.fixed(mean(\.fpPSNR), 4), Markup.fixed(mean(\.quantPSNR), 4), Markup.fixed(mean(\.psnrDrop), 4),
                            Markup.fixed(mean(\.fpSSIM), 5), Markup.fixed(mean(\.quantSSIM), 5)]])
        s += chart(AuditCharts.images(c).svg())
        return section("images", "Per-image PSNR/SSIM", s)
    }

    static func crops(_ r: AuditReport) -> String {
        guard let c = r.images?.crops else { return section("crops", "Crops of the worst image", note(r.imagesNote ?? "not measured")) }
        var s = note("\(c.image) (largest PSNR drop), HR region x=\(c.x), y=\(c.y), \(c.size)×\(c.size) pixels where the quantized output "
                     + "differs most from the ground truth; shown enlarged without smoothing.")
        for (label, png) in [("FP", c.fpPNG), ("quantized", c.quantizedPNG), ("ground truth", c.groundTruthPNG)] {
            s += "<div class=\"crop\"><img alt=\"\(e(label))\" src=\"data:image/png;base64,\(png.base64EncodedString())\"><br>\(e(label))</div>"
        }
        return section("crops", "Crops of the worst image: FP | quantized | ground truth", s + "\n")
    }

    static func onnx(_ r: AuditReport) -> String {
        guard let o = r.onnx else { return section("onnx", "ONNX runtime comparison", note("not given (pass --onnx-report FILE)")) }
        var s = note("onnxruntime \(o.onnxruntime)\(r.onnxSource.map { ", from \($0)" } ?? ""): per linear site, fake-quant output vs the "
                     + "exported QDQ graph (the QPARAMS that file was made with may differ from this one). Tie mismatches: one-step "
                     + "differences explained by ONNX's round-half-to-even.")
        s += table(["site", "elements", "max |Δ|", "tie mismatches", "other mismatches"],
                   o.sites.map { [$0.site, "\($0.elements)", Markup.number($0.maxAbsDiff), "\($0.tieMismatches)", "\($0.otherMismatches)"] })
        return section("onnx", "ONNX runtime comparison", s)
    }
}

import Foundation

/// The words and table of the audit's `outliers` section (shared by the HTML and Markdown writers).
enum OutlierText {
    static func explanation(_ o: AuditReport.Outliers) -> String {
        var s = "Per site with a quantized input, over every element of that input (all tokens and channels) on \(o.source): "
            + "max |x| / RMS (RMS = sqrt(mean x²)) and Pearson's kurtosis n·Σ(x − μ)⁴ / (Σ(x − μ)²)² (3 for a Gaussian, "
            + "1.8 for a uniform; large = a few outliers). "
        if o.planRotates {
            s += "Columns: the site's input x, after the plan's online rotation x·R (rotated sites only; \"—\" = not rotated), "
                + "and as the quantizer receives it, divided by the HSO scales (sites with scales only)."
        } else {
            s += "This plan has no rotations, so there is no \"after rotation\" column: the input x, and as the quantizer "
                + "receives it, divided by the HSO scales (sites with scales only)."
        }
        return s
    }

    static func head(_ o: AuditReport.Outliers) -> [String] {
        var h = ["site", "max/RMS x", "kurtosis x"]
        if o.planRotates { h += ["max/RMS x·R", "kurtosis x·R"] }
        return h + ["max/RMS quantizer input (÷ HSO)", "kurtosis quantizer input (÷ HSO)"]
    }

    static func rows(_ o: AuditReport.Outliers) -> [[String]] {
        o.rows.map { r in
            var row = [r.site, Markup.number(r.input.maxOverRMS), Markup.number(r.input.kurtosis)]
            if o.planRotates { row += [Markup.number(r.rotated?.maxOverRMS), Markup.number(r.rotated?.kurtosis)] }
            return row + [Markup.number(r.scaled?.maxOverRMS), Markup.number(r.scaled?.kurtosis)]
        }
    }
}

import Foundation

/// Escaping and number formatting shared by the HTML, SVG and Markdown writers.
public enum Markup {
    /// Text safe inside HTML/SVG element content and double-quoted attribute values (& < > " ' escaped).
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }

    /// Text safe inside one Markdown table cell (pipes and newlines escaped, HTML specials escaped).
    public static func markdownCell(_ s: String) -> String {
        escape(s).replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }

    /// 4 significant digits; "—" for nil, "nan"/"inf" spelled out.
    public static func number(_ v: Double?, digits: Int = 4) -> String {
        guard let v else { return "—" }
        if v.isNaN { return "nan" }
        if v.isInfinite { return v > 0 ? "inf" : "-inf" }
        return String(format: "%.\(digits)g", v)
    }

    /// Fixed decimals (e.g. PSNR with 3, SSIM with 5).
    public static func fixed(_ v: Double?, _ decimals: Int) -> String {
        guard let v else { return "—" }
        if !v.isFinite { return number(v) }
        return String(format: "%.\(decimals)f", v)
    }

    /// A value for a machine-readable attribute (`data-value`): the shortest round-trip decimal, "nan" for NaN.
    public static func attributeValue(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v > 0 ? "inf" : "-inf" }
        return "\(v)"
    }
}

import Foundation

/// A linear value axis: the data range widened to "nice" tick values, and the mapping from values to pixels.
public struct ChartAxis: Sendable, Equatable {
    public let lower: Double
    public let upper: Double
    public let ticks: [Double]

    /// An axis covering `values` (non-finite ones ignored) and `include` (e.g. 0 for bars), with about `tickCount` ticks.
    public init(covering values: [Double], include: [Double] = [], tickCount: Int = 5) {
        let finite = (values + include).filter(\.isFinite)
        var lo = finite.min() ?? 0, hi = finite.max() ?? 1
        if lo == hi { lo -= lo == 0 ? 1 : abs(lo) * 0.1; hi += hi == 0 ? 1 : abs(hi) * 0.1 }
        let step = ChartAxis.niceStep((hi - lo) / Double(max(1, tickCount)))
        let l = (lo / step).rounded(.down) * step, u = (hi / step).rounded(.up) * step
        lower = l; upper = u
        var t: [Double] = []
        var v = l
        while v <= u + step * 1e-9 { t.append(abs(v) < step * 1e-9 ? 0 : v); v += step }
        ticks = t
    }

    /// 1, 2 or 5 × 10^k closest above `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let p = pow(10, (log10(raw)).rounded(.down))
        for m in [1.0, 2.0, 5.0, 10.0] where m * p >= raw { return m * p }
        return 10 * p
    }

    /// Pixel position of `v` on a span from `start` (value = lower) to `end` (value = upper).
    public func position(_ v: Double, from start: Double, to end: Double) -> Double {
        start + (v - lower) / (upper - lower) * (end - start)
    }
}

/// Colours and sizes shared by every chart.
enum ChartStyle {
    static let palette = ["#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6", "#dd4477", "#66aa00"]
    static func color(_ i: Int) -> String { palette[i % palette.count] }
    static let font = "font-family=\"sans-serif\" font-size=\"11\""

    /// The width a chart needs so that its bold title is not clipped.
    static func width(atLeast w: Double, title: String) -> Double { Swift.max(w, Double(title.count) * 6.8 + 40) }

    /// 2 decimals for pixel coordinates keeps the SVG small.
    static func px(_ v: Double) -> String { String(format: "%.2f", v) }

    /// Opening `<svg>` with a title and an accessible description.
    static func open(width: Double, height: Double, title: String, kind: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart \(kind)\" width=\"\(px(width))\" height=\"\(px(height))\" "
            + "viewBox=\"0 0 \(px(width)) \(px(height))\" role=\"img\" aria-label=\"\(Markup.escape(title))\">"
            + "<title>\(Markup.escape(title))</title>"
            + "<rect x=\"0\" y=\"0\" width=\"\(px(width))\" height=\"\(px(height))\" fill=\"#ffffff\"/>"
            + "<text x=\"\(px(width / 2))\" y=\"16\" text-anchor=\"middle\" \(font) font-weight=\"bold\">\(Markup.escape(title))</text>"
    }

    /// Y axis with grid lines and tick labels, plus its label.
    static func yAxis(_ axis: ChartAxis, left: Double, right: Double, top: Double, bottom: Double, label: String) -> String {
        var s = ""
        for t in axis.ticks {
            let y = axis.position(t, from: bottom, to: top)
            s += "<line x1=\"\(px(left))\" y1=\"\(px(y))\" x2=\"\(px(right))\" y2=\"\(px(y))\" stroke=\"#dddddd\"/>"
            s += "<text x=\"\(px(left - 4))\" y=\"\(px(y + 4))\" text-anchor=\"end\" \(font)>\(Markup.escape(Markup.number(t, digits: 3)))</text>"
        }
        s += "<line x1=\"\(px(left))\" y1=\"\(px(top))\" x2=\"\(px(left))\" y2=\"\(px(bottom))\" stroke=\"#333333\"/>"
        s += "<text transform=\"translate(12,\(px((top + bottom) / 2))) rotate(-90)\" text-anchor=\"middle\" \(font)>\(Markup.escape(label))</text>"
        return s
    }

    /// Legend entries in a row under the title.
    static func legend(_ names: [String], left: Double, y: Double, firstColor: Int = 0) -> String {
        var s = "", x = left
        for (i, n) in names.enumerated() {
            s += "<rect x=\"\(px(x))\" y=\"\(px(y - 9))\" width=\"10\" height=\"10\" fill=\"\(color(firstColor + i))\"/>"
            s += "<text x=\"\(px(x + 14))\" y=\"\(px(y))\" \(font)>\(Markup.escape(n))</text>"
            x += 24 + Double(n.count) * 6.5
        }
        return s
    }
}

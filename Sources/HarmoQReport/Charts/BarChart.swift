import Foundation

/// A grouped bar chart: one group per category, one bar per series. Every bar carries its exact value in
/// `data-value` (and `data-series`, `data-category`), so tests and scripts can read the chart back.
/// Non-finite values draw no bar (their marker is an empty `<g class="missing">`).
public struct BarChart: Sendable {
    public struct Series: Sendable {
        public var name: String
        /// One value per category (NaN = not applicable).
        public var values: [Double]
        public init(name: String, values: [Double]) { self.name = name; self.values = values }
    }

    public var title: String
    public var yLabel: String
    public var categories: [String]
    public var series: [Series]
    /// Bars grow from this value (default 0; with a log-like quantity use the axis bottom by passing nil).
    public var baseline: Double?
    /// Optional horizontal reference line (e.g. a threshold).
    public var reference: Double?

    public init(title: String, yLabel: String, categories: [String], series: [Series], baseline: Double? = 0, reference: Double? = nil) {
        self.title = title; self.yLabel = yLabel; self.categories = categories; self.series = series
        self.baseline = baseline; self.reference = reference
    }

    public func svg() -> String {
        let all = series.flatMap(\.values)
        var include: [Double] = []
        if let b = baseline { include.append(b) } else {
            // bars grow from the axis bottom: keep the smallest bar visible
            let f = all.filter(\.isFinite)
            if let lo = f.min(), let hi = f.max() { include.append(lo - Swift.max(0.05 * (hi - lo), 0.05 * abs(lo), 1e-12)) }
        }
        if let r = reference { include.append(r) }
        let axis = ChartAxis(covering: all, include: include)
        let barW = 9.0, groupGap = 8.0
        let groupW = Double(max(1, series.count)) * barW + groupGap
        let left = 64.0, top = 40.0, plotH = 220.0
        let longest = Double(categories.map(\.count).max() ?? 1)
        let labelH = min(200, 10 + longest * 5.2)
        let width = ChartStyle.width(atLeast: max(360, left + Double(categories.count) * groupW + 20), title: title)
        let height = top + plotH + labelH + 10
        let bottom = top + plotH, right = width - 10
        var s = ChartStyle.open(width: width, height: height, title: title, kind: "bar-chart")
        s += ChartStyle.legend(series.map(\.name), left: left, y: 32)
        s += ChartStyle.yAxis(axis, left: left, right: right, top: top, bottom: bottom, label: yLabel)
        let base = axis.position(baseline ?? axis.lower, from: bottom, to: top)
        for (c, cat) in categories.enumerated() {
            let gx = left + Double(c) * groupW + groupGap / 2
            for (k, ser) in series.enumerated() {
                let v = c < ser.values.count ? ser.values[c] : .nan
                let attrs = "data-series=\"\(Markup.escape(ser.name))\" data-category=\"\(Markup.escape(cat))\" data-value=\"\(Markup.attributeValue(v))\""
                guard v.isFinite else { s += "<g class=\"missing\" \(attrs)/>"; continue }
                let y = axis.position(v, from: bottom, to: top)
                let x = gx + Double(k) * barW
                s += "<rect class=\"bar\" x=\"\(ChartStyle.px(x))\" y=\"\(ChartStyle.px(min(y, base)))\" width=\"\(ChartStyle.px(barW - 1))\" "
                    + "height=\"\(ChartStyle.px(abs(base - y)))\" fill=\"\(ChartStyle.color(k))\" \(attrs)>"
                    + "<title>\(Markup.escape(cat)) — \(Markup.escape(ser.name)): \(Markup.escape(Markup.number(v)))</title></rect>"
            }
            let lx = gx + Double(series.count) * barW / 2
            s += "<text transform=\"translate(\(ChartStyle.px(lx)),\(ChartStyle.px(bottom + 8))) rotate(60)\" font-family=\"sans-serif\" font-size=\"9\">\(Markup.escape(cat))</text>"
        }
        s += "<line x1=\"\(ChartStyle.px(left))\" y1=\"\(ChartStyle.px(base))\" x2=\"\(ChartStyle.px(right))\" y2=\"\(ChartStyle.px(base))\" stroke=\"#333333\"/>"
        if let r = reference {
            let y = axis.position(r, from: bottom, to: top)
            s += "<line class=\"reference\" data-value=\"\(Markup.attributeValue(r))\" x1=\"\(ChartStyle.px(left))\" y1=\"\(ChartStyle.px(y))\" "
                + "x2=\"\(ChartStyle.px(right))\" y2=\"\(ChartStyle.px(y))\" stroke=\"#000000\" stroke-dasharray=\"4 3\"/>"
        }
        return s + "</svg>"
    }
}

import Foundation

/// Points over categories (a strip plot): e.g. every checker ratio of each claim as log10(value / threshold),
/// with a reference line at 0. Each point is a `<circle class="point">` with `data-category`, `data-y` and
/// `data-ok` ("true"/"false"); ok points are green, others red.
public struct StripChart: Sendable {
    public struct Point: Sendable {
        public var category: String
        public var y: Double
        public var ok: Bool
        public init(category: String, y: Double, ok: Bool) { self.category = category; self.y = y; self.ok = ok }
    }

    public var title: String
    public var yLabel: String
    public var categories: [String]
    public var points: [Point]
    public var reference: Double?

    public init(title: String, yLabel: String, categories: [String], points: [Point], reference: Double? = 0) {
        self.title = title; self.yLabel = yLabel; self.categories = categories; self.points = points; self.reference = reference
    }

    public func svg() -> String {
        let left = 64.0, top = 36.0, plotH = 260.0, colW = 70.0
        let width = ChartStyle.width(atLeast: max(360, left + Double(categories.count) * colW + 20), title: title)
        let bottom = top + plotH, right = width - 10, height = bottom + 40
        let axis = ChartAxis(covering: points.map(\.y), include: reference.map { [$0] } ?? [])
        var s = ChartStyle.open(width: width, height: height, title: title, kind: "strip-chart")
        s += ChartStyle.yAxis(axis, left: left, right: right, top: top, bottom: bottom, label: yLabel)
        if let r = reference {
            let y = axis.position(r, from: bottom, to: top)
            s += "<line class=\"reference\" data-value=\"\(Markup.attributeValue(r))\" x1=\"\(ChartStyle.px(left))\" y1=\"\(ChartStyle.px(y))\" "
                + "x2=\"\(ChartStyle.px(right))\" y2=\"\(ChartStyle.px(y))\" stroke=\"#000000\" stroke-dasharray=\"4 3\"/>"
        }
        for (c, cat) in categories.enumerated() {
            let cx = left + (Double(c) + 0.5) * colW
            s += "<text x=\"\(ChartStyle.px(cx))\" y=\"\(ChartStyle.px(bottom + 18))\" text-anchor=\"middle\" \(ChartStyle.font)>\(Markup.escape(cat))</text>"
            let mine = points.filter { $0.category == cat && $0.y.isFinite }
            for (i, p) in mine.enumerated() {
                // deterministic horizontal jitter so coincident points stay visible
                let jitter = (Double((i * 37) % 41) / 40 - 0.5) * colW * 0.6
                let y = axis.position(p.y, from: bottom, to: top)
                s += "<circle class=\"point\" cx=\"\(ChartStyle.px(cx + jitter))\" cy=\"\(ChartStyle.px(y))\" r=\"2.5\" "
                    + "fill=\"\(p.ok ? "#109618" : "#dc3912")\" fill-opacity=\"0.7\" data-category=\"\(Markup.escape(cat))\" "
                    + "data-y=\"\(Markup.attributeValue(p.y))\" data-ok=\"\(p.ok)\"/>"
            }
        }
        return s + "</svg>"
    }
}

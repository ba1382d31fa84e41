import Foundation

/// A line chart of one or more (x, y) series with markers. Every marker carries `data-series`, `data-x`, `data-y`.
/// Points with a non-finite coordinate are left out (the line breaks there).
public struct LineChart: Sendable {
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public init(name: String, points: [(x: Double, y: Double)]) { self.name = name; self.points = points }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    /// Optional horizontal reference line.
    public var reference: Double?
    /// Draw a marker on every point (off for long traces).
    public var markers: Bool

    public init(title: String, xLabel: String, yLabel: String, series: [Series], reference: Double? = nil, markers: Bool = true) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.series = series
        self.reference = reference; self.markers = markers
    }

    public func svg() -> String {
        let pts = series.flatMap(\.points)
        let xAxis = ChartAxis(covering: pts.map(\.x))
        let yAxis = ChartAxis(covering: pts.map(\.y), include: reference.map { [$0] } ?? [])
        let left = 64.0, top = 40.0 + Double((series.count + 5) / 6) * 14, width = ChartStyle.width(atLeast: 560, title: title), plotH = 240.0
        let bottom = top + plotH, right = width - 16, height = bottom + 44
        var s = ChartStyle.open(width: width, height: height, title: title, kind: "line-chart")
        for row in stride(from: 0, to: series.count, by: 6) {
            let names = Array(series[row..<min(series.count, row + 6)].map(\.name))
            s += ChartStyle.legend(names, left: left, y: 32 + Double(row / 6) * 14, firstColor: row)
        }
        s += ChartStyle.yAxis(yAxis, left: left, right: right, top: top, bottom: bottom, label: yLabel)
        for t in xAxis.ticks {
            let x = xAxis.position(t, from: left, to: right)
            s += "<line x1=\"\(ChartStyle.px(x))\" y1=\"\(ChartStyle.px(bottom))\" x2=\"\(ChartStyle.px(x))\" y2=\"\(ChartStyle.px(bottom + 4))\" stroke=\"#333333\"/>"
            s += "<text x=\"\(ChartStyle.px(x))\" y=\"\(ChartStyle.px(bottom + 16))\" text-anchor=\"middle\" \(ChartStyle.font)>\(Markup.escape(Markup.number(t, digits: 3)))</text>"
        }
        s += "<line x1=\"\(ChartStyle.px(left))\" y1=\"\(ChartStyle.px(bottom))\" x2=\"\(ChartStyle.px(right))\" y2=\"\(ChartStyle.px(bottom))\" stroke=\"#333333\"/>"
        s += "<text x=\"\(ChartStyle.px((left + right) / 2))\" y=\"\(ChartStyle.px(bottom + 36))\" text-anchor=\"middle\" \(ChartStyle.font)>\(Markup.escape(xLabel))</text>"
        if let r = reference {
            let y = yAxis.position(r, from: bottom, to: top)
            s += "<line class=\"reference\" data-value=\"\(Markup.attributeValue(r))\" x1=\"\(ChartStyle.px(left))\" y1=\"\(ChartStyle.px(y))\" "
                + "x2=\"\(ChartStyle.px(right))\" y2=\"\(ChartStyle.px(y))\" stroke=\"#000000\" stroke-dasharray=\"4 3\"/>"
        }
        for (k, ser) in series.enumerated() {
            let color = ChartStyle.color(k)
            var segments: [[String]] = [[]]
            for p in ser.points {
                guard p.x.isFinite, p.y.isFinite else { segments.append([]); continue }
                let x = xAxis.position(p.x, from: left, to: right), y = yAxis.position(p.y, from: bottom, to: top)
                segments[segments.count - 1].append("\(ChartStyle.px(x)),\(ChartStyle.px(y))")
            }
            for seg in segments where seg.count > 1 {
                s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\"\(seg.joined(separator: " "))\"/>"
            }
            for p in ser.points where p.x.isFinite && p.y.isFinite {
                let x = xAxis.position(p.x, from: left, to: right), y = yAxis.position(p.y, from: bottom, to: top)
                s += "<circle class=\"point\" cx=\"\(ChartStyle.px(x))\" cy=\"\(ChartStyle.px(y))\" r=\"\(markers ? "3" : "0")\" fill=\"\(color)\" "
                    + "data-series=\"\(Markup.escape(ser.name))\" data-x=\"\(Markup.attributeValue(p.x))\" data-y=\"\(Markup.attributeValue(p.y))\"/>"
            }
        }
        return s + "</svg>"
    }
}

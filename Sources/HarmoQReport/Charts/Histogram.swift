import Foundation

/// A histogram of values in equal-width bins over [min, max] of the finite values. Every bin is a
/// `<rect class="bin">` with `data-lower`, `data-upper` and `data-count`; the last bin includes its upper edge.
public struct Histogram: Sendable {
    public var title: String
    public var xLabel: String
    public var values: [Double]
    public var binCount: Int

    public init(title: String, xLabel: String, values: [Double], binCount: Int = 20) {
        self.title = title; self.xLabel = xLabel; self.values = values; self.binCount = max(1, binCount)
    }

    /// (lower edge, upper edge, count) per bin; empty when no value is finite.
    public var bins: [(lower: Double, upper: Double, count: Int)] {
        let v = values.filter(\.isFinite)
        guard let lo = v.min(), let hi0 = v.max() else { return [] }
        let hi = hi0 > lo ? hi0 : lo + 1
        let w = (hi - lo) / Double(binCount)
        var counts = [Int](repeating: 0, count: binCount)
        for x in v { counts[min(binCount - 1, Int((x - lo) / w))] += 1 }
        return (0..<binCount).map { (lo + Double($0) * w, $0 == binCount - 1 ? hi : lo + Double($0 + 1) * w, counts[$0]) }
    }

    public func svg() -> String {
        let b = bins
        let left = 56.0, top = 36.0, width = ChartStyle.width(atLeast: 480, title: title), plotH = 200.0
        let bottom = top + plotH, right = width - 16, height = bottom + 46
        var s = ChartStyle.open(width: width, height: height, title: title, kind: "histogram")
        let yAxis = ChartAxis(covering: b.map { Double($0.count) }, include: [0])
        s += ChartStyle.yAxis(yAxis, left: left, right: right, top: top, bottom: bottom, label: "count")
        guard let first = b.first, let last = b.last else {
            return s + "<text x=\"\(ChartStyle.px(width / 2))\" y=\"\(ChartStyle.px((top + bottom) / 2))\" text-anchor=\"middle\" \(ChartStyle.font)>no finite values</text></svg>"
        }
        let xAxis = ChartAxis(covering: [first.lower, last.upper])
        for bin in b {
            let x0 = xAxis.position(bin.lower, from: left, to: right), x1 = xAxis.position(bin.upper, from: left, to: right)
            let y = yAxis.position(Double(bin.count), from: bottom, to: top)
            s += "<rect class=\"bin\" x=\"\(ChartStyle.px(x0))\" y=\"\(ChartStyle.px(y))\" width=\"\(ChartStyle.px(max(0.5, x1 - x0 - 0.5)))\" "
                + "height=\"\(ChartStyle.px(bottom - y))\" fill=\"\(ChartStyle.color(0))\" data-lower=\"\(Markup.attributeValue(bin.lower))\" "
                + "data-upper=\"\(Markup.attributeValue(bin.upper))\" data-count=\"\(bin.count)\"><title>[\(Markup.number(bin.lower)), "
                + "\(Markup.number(bin.upper))]: \(bin.count)</title></rect>"
        }
        for t in xAxis.ticks {
            let x = xAxis.position(t, from: left, to: right)
            s += "<text x=\"\(ChartStyle.px(x))\" y=\"\(ChartStyle.px(bottom + 16))\" text-anchor=\"middle\" \(ChartStyle.font)>\(Markup.escape(Markup.number(t, digits: 3)))</text>"
        }
        s += "<line x1=\"\(ChartStyle.px(left))\" y1=\"\(ChartStyle.px(bottom))\" x2=\"\(ChartStyle.px(right))\" y2=\"\(ChartStyle.px(bottom))\" stroke=\"#333333\"/>"
        s += "<text x=\"\(ChartStyle.px((left + right) / 2))\" y=\"\(ChartStyle.px(bottom + 36))\" text-anchor=\"middle\" \(ChartStyle.font)>\(Markup.escape(xLabel))</text>"
        return s + "</svg>"
    }
}

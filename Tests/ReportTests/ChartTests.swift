import Foundation
import Testing
import HarmoQReport

@Suite("SVG charts")
struct ChartTests {
    @Test func barValuesAndHeightsMatchInputs() throws {
        let a: [Double] = [1.5, 4, 0.25, .nan], b: [Double] = [3, 2, 8, 5]
        let chart = BarChart(title: "t & <u>", yLabel: "y", categories: ["c0", "c<1>", "c2", "c3"], series: [.init(name: "a", values: a), .init(name: "b", values: b)])
        let doc = try #require(ElementCollector.parse(chart.svg()))
        let bars = doc.withClass("bar")
        #expect(bars.count == 7)  // the NaN draws no bar
        #expect(doc.elements.filter { $0.name == "g" && $0.attributes["class"] == "missing" }.count == 1)
        for (name, values) in [("a", a), ("b", b)] {
            let mine = bars.filter { $0["data-series"] == name }
            #expect(mine.compactMap { Double($0["data-value"]!) } == values.filter(\.isFinite))
        }
        #expect(bars.contains { $0["data-category"] == "c<1>" })   // unescaped back by the parser
        // heights proportional to values (baseline 0)
        let perUnit = bars.map { Double($0["height"]!)! / Double($0["data-value"]!)! }
        for p in perUnit { #expect(abs(p - perUnit[0]) < 0.01 * perUnit[0]) }
    }

    @Test func negativeBarsGrowDownFromTheBaseline() throws {
        let chart = BarChart(title: "t", yLabel: "y", categories: ["p", "n"], series: [.init(name: "s", values: [2, -1])])
        let doc = try #require(ElementCollector.parse(chart.svg()))
        let bars = doc.withClass("bar")
        let pos = bars.first { $0["data-value"] == "2.0" }!, neg = bars.first { $0["data-value"] == "-1.0" }!
        let basePos = Double(pos["y"]!)! + Double(pos["height"]!)!
        #expect(abs(basePos - Double(neg["y"]!)!) < 0.02)
        #expect(abs(Double(pos["height"]!)! - 2 * Double(neg["height"]!)!) < 0.05)
    }

    @Test func histogramCountsMatchInputs() throws {
        let values: [Double] = [0, 0.1, 0.2, 0.9, 1.0, 1.0, .nan, 0.55]
        let h = Histogram(title: "h", xLabel: "x", values: values, binCount: 4)
        #expect(h.bins.map(\.count) == [3, 0, 1, 3])
        let doc = try #require(ElementCollector.parse(h.svg()))
        let bins = doc.withClass("bin")
        #expect(bins.map { Int($0["data-count"]!)! } == [3, 0, 1, 3])
        #expect(bins.map { Int($0["data-count"]!)! }.reduce(0, +) == values.filter(\.isFinite).count)
        #expect(Double(bins.first!["data-lower"]!) == 0 && Double(bins.last!["data-upper"]!) == 1)
    }

    @Test func lineChartPointsMatchInputs() throws {
        let pts: [(x: Double, y: Double)] = [(2, 30.5), (3, 34), (4, 37.25), (8, .nan)]
        let c = LineChart(title: "l", xLabel: "bits", yLabel: "PSNR", series: [.init(name: "m&m", points: pts)], reference: 38)
        let doc = try #require(ElementCollector.parse(c.svg()))
        let points = doc.withClass("point")
        #expect(points.map { Double($0["data-x"]!)! } == [2, 3, 4])
        #expect(points.map { Double($0["data-y"]!)! } == [30.5, 34, 37.25])
        #expect(points.allSatisfy { $0["data-series"] == "m&m" })
        #expect(doc.withClass("reference").first?["data-value"] == "38.0")
        // higher PSNR is drawn higher (smaller y)
        let cy = points.map { Double($0["cy"]!)! }
        #expect(cy[0] > cy[1] && cy[1] > cy[2])
    }

    @Test func checkerRatioChartMarksPassAndFail() throws {
        let svg = PaperCharts.checkerRatios([.init(claim: "T1", value: 0.5, threshold: 30, passed: true),
                                             .init(claim: "T1", value: 60, threshold: 30, passed: false),
                                             .init(claim: "O1", value: 0, threshold: 1, passed: true)])
        let doc = try #require(ElementCollector.parse(svg))
        let pts = doc.withClass("point")
        #expect(pts.count == 2)  // value 0 has no logarithm
        #expect(pts.map { $0["data-ok"]! } == ["true", "false"])
        #expect(abs(Double(pts[0]["data-y"]!)! - log10(0.5 / 30)) < 1e-12)
    }

    @Test func o1ChartHasTheDrops() throws {
        let svg = PaperCharts.o1Asymmetry(title: "O1", fp: (38, 0.96), entries: [(4, (37.5, 0.955), (35, 0.94))])
        let doc = try #require(ElementCollector.parse(svg))
        let w = doc.withClass("bar").filter { $0["data-series"] == "weight-only" }.map { Double($0["data-value"]!)! }
        let a = doc.withClass("bar").filter { $0["data-series"] == "activation-only" }.map { Double($0["data-value"]!)! }
        #expect(abs(w[0] - 0.5) < 1e-12 && abs(w[1] - 0.5) < 1e-9)
        #expect(abs(a[0] - 3) < 1e-12 && abs(a[1] - 2) < 1e-9)
    }

    @Test func auditSensitivityChartIsTheMSEinDB() throws {
        let r = try ReportFixtures.report()
        let doc = try #require(ElementCollector.parse(AuditCharts.sensitivity(r.sensitivity!).svg()))
        let bars = doc.withClass("bar")
        let w = bars.filter { $0["data-series"] == "weight-only" }.map { Double($0["data-value"]!)! }
        let a = bars.filter { $0["data-series"] == "activation-only" }.map { Double($0["data-value"]!)! }
        #expect(w.count == 1 && abs(w[0] - (-50)) < 1e-9)   // 10·log10(1e-5); the operand site has no weight bar
        #expect(a.count == 2 && abs(a[0] - (-30)) < 1e-9 && abs(a[1] - (-40)) < 1e-9)
    }
}

@Suite("Chart layout")
struct ChartLayoutTests {
    @Test func longTitlesWidenTheChart() throws {
        let title = String(repeating: "long title ", count: 20)
        for svg in [BarChart(title: title, yLabel: "y", categories: ["a"], series: [.init(name: "s", values: [1])]).svg(),
                    Histogram(title: title, xLabel: "x", values: [1, 2]).svg(),
                    LineChart(title: title, xLabel: "x", yLabel: "y", series: [.init(name: "s", points: [(1, 1)])]).svg(),
                    StripChart(title: title, yLabel: "y", categories: ["a"], points: []).svg()] {
            let doc = try #require(ElementCollector.parse(svg))
            let width = try #require(Double(doc.elements[0].attributes["width"] ?? ""))
            #expect(width >= Double(title.count) * 6.5, "\(doc.elements[0].attributes["class"] ?? "")")
        }
    }
}

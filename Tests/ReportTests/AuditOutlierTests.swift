import Foundation
import Testing
import HarmoQ
@testable import HarmoQReport
import SRCalibration
import SREngine

/// The audit's `outliers` section: the statistics against hand-worked values, the hook's three columns on a hand-made
/// input with an order-2 Hadamard rotation, and what the section says for plans with and without rotations.
@Suite("Audit outliers")
struct AuditOutlierTests {
    /// Hand-worked: values → (max/RMS, kurtosis = n·M4/M2²), with M2, M4 the central sums.
    ///   [1, 2, 3, 4]: μ 2.5, M2 = 5, M4 = 2·1.5⁴ + 2·0.5⁴ = 10.25, RMS √7.5 → 4/√7.5 = 1.460593, κ = 4·10.25/25 = 1.64
    ///   [0, 0, 0, 4]: μ 1, M2 = 12, M3 = 24, M4 = 84, RMS 2 → 2, κ = 4·84/144 = 2.333333
    ///   [−3, 3]:      μ 0, M2 = 18, M4 = 162, RMS 3 → 1, κ = 2·162/324 = 1
    ///   [2, 2]:       M2 = 0 → κ undefined, max/RMS 1;  [0, 0]: both undefined;  []: both undefined
    @Test func statisticsMatchHandWorkedTable() {
        let table: [([Float], Double?, Double?, Double, Double)] = [
            ([1, 2, 3, 4], 4 / 7.5.squareRoot(), 1.64, 5, 10.25),
            ([0, 0, 0, 4], 2, 7.0 / 3, 12, 84),
            ([-3, 3], 1, 1, 18, 162),
            ([2, 2], 1, nil, 0, 0),
            ([0, 0], nil, nil, 0, 0),
            ([], nil, nil, 0, 0),
        ]
        for (values, ratio, kurtosis, m2, m4) in table {
            var m = MomentAccumulator()
            m.add(values)
            #expect(m.count == values.count)
            #expect(close(m.maxOverRMS, ratio), "max/RMS of \(values): \(String(describing: m.maxOverRMS))")
            #expect(close(m.kurtosis, kurtosis), "kurtosis of \(values): \(String(describing: m.kurtosis))")
            #expect(abs(m.m2 - m2) < 1e-12 && abs(m.m4 - m4) < 1e-12, "M2/M4 of \(values)")
        }
        var m = MomentAccumulator(); m.add([0, 0, 0, 4] as [Float])
        #expect(m.m3 == 24 && m.maxAbs == 4 && m.rms == 2)
    }

    /// Added in uneven pieces (Pébay's merge) = added at once, on a heavy-tailed sample with a large mean.
    @Test func piecesMergeToTheWhole() {
        var g = SplitMix64(seed: 7)
        let x: [Float] = (0..<1000).map { i in
            let u = Float(g.next() >> 40) / Float(1 << 24)
            return 100 + (i % 97 == 0 ? 50 * u : u - 0.5)
        }
        var whole = MomentAccumulator(); whole.add(x)
        var parts = MomentAccumulator()
        for (a, b) in [(0, 1), (1, 10), (10, 500), (500, 503), (503, 1000)] { parts.add(x[a..<b]) }
        #expect(parts.count == whole.count && parts.maxAbs == whole.maxAbs)
        #expect(close(parts.kurtosis, whole.kurtosis, 1e-9) && close(parts.maxOverRMS, whole.maxOverRMS, 1e-12))
        #expect(abs(parts.mean - whole.mean) < 1e-12 && abs(parts.m2 - whole.m2) / whole.m2 < 1e-9)
        // and the pieces' statistics differ from the whole's (the merge is not a no-op)
        var first = MomentAccumulator(); first.add(x[0..<500])
        #expect(!close(first.kurtosis, whole.kurtosis, 1e-3))
    }

    /// x = [[2, 0], [0, 0]] at a 2-input site rotated by R = D·H₂/√2 with HSO scales s = [1, 2]:
    ///   x:        [2, 0, 0, 0]   → max/RMS 2/1 = 2, κ = 4·5.25/3² = 2.333333
    ///   x·R:      [a, a, 0, 0], a = ±√2 (first row of R times 2)  → max/RMS √2/1 = √2, κ = 4·(a⁴/4)/a⁴ = 1
    ///   (x·R) ⊘ s: [a, a/2, 0, 0] → max/RMS √2/√0.625 = 1.788854, κ = 4·(788/4096)/(44/64)² = 3152/1936 = 1.628099
    /// A site without rotation or scales has only its input column; a site not in the targets is left alone.
    @Test func hookReportsTheThreeColumns() throws {
        let rotation = OnlineRotation(try Rotation.make(kind: .hadamard, order: 2, seed: 3))
        let hook = OutlierHook(targets: ["a": .init(rotation: rotation, scale: [1, 2]), "b": .init(rotation: nil, scale: nil)])
        let site = Site(name: "a", kind: .linear(inFeatures: 2, outFeatures: 2))
        var x: [Float] = [2, 0, 0, 0]
        x.withUnsafeMutableBufferPointer { hook.process(site: site, index: 0, values: $0, rows: 2, cols: 2) }
        #expect(x == [2, 0, 0, 0])   // left unchanged
        var y: [Float] = [1, -1]
        y.withUnsafeMutableBufferPointer { hook.process(site: Site(name: "b", kind: .matmulOperand), index: 1, values: $0, rows: 1, cols: 2) }
        y.withUnsafeMutableBufferPointer { hook.process(site: Site(name: "c", kind: .matmulOperand), index: 2, values: $0, rows: 1, cols: 2) }
        let a = try #require(hook.input["a"]), ar = try #require(hook.rotated["a"]), asc = try #require(hook.scaled["a"])
        #expect(close(a.maxOverRMS, 2) && close(a.kurtosis, 7.0 / 3))
        #expect(close(ar.maxOverRMS, 2.0.squareRoot(), 1e-6) && close(ar.kurtosis, 1, 1e-6))
        #expect(close(asc.maxOverRMS, 2.0.squareRoot() / 0.625.squareRoot(), 1e-6) && close(asc.kurtosis, 3152.0 / 1936, 1e-6))
        #expect(hook.input["b"]?.count == 2 && hook.rotated["b"] == nil && hook.scaled["b"] == nil && hook.input["c"] == nil)
    }

    /// An unrotated plan's section has one input column and says why; a rotated plan's has the x·R column and chart series.
    @Test func sectionSaysWhetherThePlanRotates() throws {
        var r = try ReportFixtures.report()
        var m = MomentAccumulator(); m.add([0, 0, 0, 4] as [Float])
        var n = MomentAccumulator(); n.add([1, 2, 3, 4] as [Float])
        let row = AuditReport.OutlierRow(site: "s", input: .init(m), rotated: .init(n), scaled: nil)
        r.outliers = .init(source: "one patch", planRotates: true, rows: [row])
        let rotated = AuditHTML.render(r)
        #expect(rotated.contains("max/RMS x·R") && rotated.contains("after rotation x·R"))
        #expect(rotated.contains("data-value=\"2.0\"") && rotated.contains("data-series=\"after rotation x·R\""))
        #expect(AuditMarkdown.render(r, htmlName: "a.html").contains("| s | 2 | 2.333 | 1.461 | 1.64 | — | — |"))
        r.outliers = .init(source: "one patch", planRotates: false, rows: [.init(site: "s", input: .init(m), rotated: nil, scaled: nil)])
        let plain = AuditHTML.render(r)
        #expect(!plain.contains("max/RMS x·R") && !plain.contains("after rotation x·R"))
        #expect(plain.contains("This plan has no rotations"))
        #expect(AuditMarkdown.render(r, htmlName: "a.html").contains("| s | 2 | 2.333 | — | — |"))
    }

    func close(_ a: Double?, _ b: Double?, _ tol: Double = 1e-12) -> Bool {
        switch (a, b) {
        case (nil, nil): return true
        case let (x?, y?): return abs(x - y) <= tol * max(1, abs(y))
        default: return false
        }
    }
}

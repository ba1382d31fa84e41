import Foundation
import SRCalibration

/// SVG charts for people next to `harmoq tables` and `harmoq verify` output.
public enum PaperCharts {
    /// A named SVG file to write (file name without folder).
    public struct File: Sendable {
        public var name: String
        public var svg: String
        public init(name: String, svg: String) { self.name = name; self.svg = svg }
    }

    /// Weight bits of a "WbAb" label (nil when not of that form, e.g. "32").
    static func weightBits(_ label: String) -> Int? {
        let l = label.uppercased()
        guard l.hasPrefix("W"), let a = l.firstIndex(of: "A") else { return nil }
        return Int(l[l.index(after: l.startIndex)..<a])
    }

    /// Table 1: PSNR against bit width, one line per method, one chart per set × scale; the FP PSNR is the dashed line.
    public static func psnrVsBits(_ cells: [PaperTables.Cell]) -> [File] {
        let t1 = cells.filter { $0.table == "1" }
        let columns = Array(Set(t1.map { "\($0.set)-x\($0.scale)" })).sorted()
        return columns.compactMap { col in
            let mine = t1.filter { "\($0.set)-x\($0.scale)" == col }
            let fp = mine.first { $0.row.hasPrefix("FP") }?.psnr
            var methods: [String] = []
            for c in mine where weightBits(c.bits) != nil && !methods.contains(c.row) { methods.append(c.row) }
            guard !methods.isEmpty else { return nil }
            let series = methods.map { m in
                LineChart.Series(name: m, points: mine.filter { $0.row == m }.compactMap { c in weightBits(c.bits).map { (Double($0), c.psnr) } }
                    .sorted { $0.x < $1.x })
            }
            let title = "Table 1: PSNR vs bits, \(col.replacingOccurrences(of: "-x", with: " ×"))" + (fp.map { String(format: " (FP %.2f dB dashed)", $0) } ?? "")
            return File(name: "tables-psnr-vs-bits-\(col).svg",
                        svg: LineChart(title: title, xLabel: "bits (weights = activations)", yLabel: "PSNR (dB)", series: series, reference: fp).svg())
        }
    }

    /// O1 asymmetry: PSNR drop (dB) and SSIM drop (×100) from FP for weight-only vs activation-only quantization.
    /// `entries`: (bits label, weight-only (psnr, ssim), activation-only (psnr, ssim)); `fp`: (psnr, ssim).
    public static func o1Asymmetry(title: String, fp: (psnr: Double, ssim: Double),
                                   entries: [(bits: Int, weightOnly: (psnr: Double, ssim: Double), activationOnly: (psnr: Double, ssim: Double))]) -> String {
        var cats: [String] = [], w: [Double] = [], a: [Double] = []
        for e in entries.sorted(by: { $0.bits < $1.bits }) {
            cats += ["PSNR drop (dB), \(e.bits) bits", "SSIM drop ×100, \(e.bits) bits"]
            w += [fp.psnr - e.weightOnly.psnr, 100 * (fp.ssim - e.weightOnly.ssim)]
            a += [fp.psnr - e.activationOnly.psnr, 100 * (fp.ssim - e.activationOnly.ssim)]
        }
        return BarChart(title: title, yLabel: "drop from FP", categories: cats,
                        series: [.init(name: "weight-only", values: w), .init(name: "activation-only", values: a)]).svg()
    }

    /// O1 charts from `harmoq tables` cells (table O1 rows against the FP row), one per set × scale.
    public static func o1Asymmetry(_ cells: [PaperTables.Cell]) -> [File] {
        let columns = Array(Set(cells.filter { $0.table == "O1" }.map { "\($0.set)-x\($0.scale)" })).sorted()
        return columns.compactMap { col in
            let mine = cells.filter { "\($0.set)-x\($0.scale)" == col }
            guard let fp = mine.first(where: { $0.table == "1" && $0.row.hasPrefix("FP") }) else { return nil }
            var entries: [(bits: Int, weightOnly: (psnr: Double, ssim: Double), activationOnly: (psnr: Double, ssim: Double))] = []
            for c in mine where c.table == "O1" && c.row.hasPrefix("weight-only") {
                guard let b = weightBits(c.bits),
                      let a = mine.first(where: { $0.table == "O1" && $0.row.hasPrefix("activation-only") && $0.bits == "W32A\(b)" }) else { continue }
                entries.append((b, (c.psnr, c.ssim), (a.psnr, a.ssim)))
            }
            guard !entries.isEmpty else { return nil }
            return File(name: "tables-o1-\(col).svg",
                        svg: o1Asymmetry(title: "O1: weight-only vs activation-only (MinMax), \(col.replacingOccurrences(of: "-x", with: " ×"))",
                                         fp: (fp.psnr, fp.ssim), entries: entries))
        }
    }

    /// One checker result reduced to what the ratio chart needs.
    public struct CheckerPoint: Sendable {
        public var claim: String
        public var value: Double
        public var threshold: Double
        public var passed: Bool
        public init(claim: String, value: Double, threshold: Double, passed: Bool) {
            self.claim = claim; self.value = value; self.threshold = threshold; self.passed = passed
        }
    }

    /// Every counted checker ratio as log10(value / threshold): "holds" results must lie below 0, reproduced
    /// refutations at or above 0. Ratios with a non-positive value or threshold are left out.
    public static func checkerRatios(_ points: [CheckerPoint]) -> String {
        var claims: [String] = []
        for p in points where !claims.contains(p.claim) { claims.append(p.claim) }
        let pts = points.filter { $0.value > 0 && $0.threshold > 0 && $0.value.isFinite }
            .map { StripChart.Point(category: $0.claim, y: log10($0.value / $0.threshold), ok: $0.passed) }
        return StripChart(title: "Checker ratios against their thresholds (green = as the Proofs/ document says)",
                          yLabel: "log10(ratio / threshold)", categories: claims, points: pts).svg()
    }
}

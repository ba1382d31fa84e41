import Foundation
import Testing
import HarmoQReport
import SRCalibration

@Suite("Tables charts")
struct PaperChartTests {
    /// `PaperTables.Cell` as `harmoq tables` writes it to JSON (its initialiser is internal to SRCalibration).
    static func cells() throws -> [PaperTables.Cell] {
        func c(_ t: String, _ row: String, _ bits: String, _ p: Double, _ s: Double) -> [String: Any] {
            ["table": t, "row": row, "bits": bits, "set": "Set5", "scale": 2, "psnr": p, "ssim": s, "calibrationSeconds": 1.0]
        }
        let rows = [c("1", "FP (DAT-light)", "32", 38.2, 0.961), c("1", "Bicubic", "32", 33.7, 0.93),
                    c("1", "minmax", "W4A4", 32.4, 0.85), c("1", "minmax", "W3A3", 25.0, 0.7),
                    c("1", "harmoq", "W3A3", 34.9, 0.93), c("1", "harmoq", "W4A4", 37.2, 0.955),
                    c("O1", "weight-only (MinMax)", "W4A32", 37.9, 0.959), c("O1", "activation-only (MinMax)", "W32A4", 35.8, 0.939)]
        return try JSONDecoder().decode([PaperTables.Cell].self, from: try JSONSerialization.data(withJSONObject: rows))
    }

    @Test func psnrVsBitsHasOneLinePerMethodSortedByBits() throws {
        let files = PaperCharts.psnrVsBits(try Self.cells())
        #expect(files.map(\.name) == ["tables-psnr-vs-bits-Set5-x2.svg"])
        let doc = try #require(ElementCollector.parse(files[0].svg))
        let pts = doc.withClass("point")
        for (method, expected) in [("minmax", [(3.0, 25.0), (4.0, 32.4)]), ("harmoq", [(3.0, 34.9), (4.0, 37.2)])] {
            let mine = pts.filter { $0["data-series"] == method }
            #expect(mine.map { Double($0["data-x"]!)! } == expected.map(\.0))
            #expect(mine.map { Double($0["data-y"]!)! } == expected.map(\.1))
        }
        #expect(!pts.contains { $0["data-series"] == "Bicubic" || $0["data-series"]!.hasPrefix("FP") })
        #expect(doc.withClass("reference").first?["data-value"] == "38.2")
    }

    @Test func o1ChartFromTableCells() throws {
        let files = PaperCharts.o1Asymmetry(try Self.cells())
        #expect(files.map(\.name) == ["tables-o1-Set5-x2.svg"])
        let doc = try #require(ElementCollector.parse(files[0].svg))
        let a = doc.withClass("bar").filter { $0["data-series"] == "activation-only" }.map { Double($0["data-value"]!)! }
        #expect(a.count == 2 && abs(a[0] - (38.2 - 35.8)) < 1e-9 && abs(a[1] - 100 * (0.961 - 0.939)) < 1e-9)
    }
}

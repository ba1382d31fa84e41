import Foundation
import Testing
import SRCalibration

/// `PaperTables.markdown` names what ran: a preset as itself, a preset changed by flags as a custom run; and the
/// peak-memory column shows "—" where no peak was recorded.
@Suite("Tables Markdown")
struct TablesMarkdownTests {
    @Test func presetsAndOverridesAreLabelled() throws {
        let cells = try PaperChartTests.cells()
        #expect(PaperTables.markdown(cells, spec: .quick, command: "harmoq tables --quick").hasPrefix("# HarmoQ tables on DAT-light (quick run)"))
        #expect(PaperTables.markdown(cells, spec: .full, command: "harmoq tables").hasPrefix("# HarmoQ tables on DAT-light (full run)"))
        var custom = PaperTables.Spec.full
        custom.patches = 8
        let md = PaperTables.markdown(cells, spec: custom, command: "harmoq tables --patches 8")
        #expect(md.hasPrefix("# HarmoQ tables on DAT-light (custom run)"))
        #expect(md.contains("8 calibration patches"))
    }

    @Test func table1RowsCarryValuesAndPeakColumn() throws {
        let md = PaperTables.markdown(try PaperChartTests.cells(), spec: .quick, command: "harmoq tables --quick")
        #expect(md.contains("| Method | Bits | Set5 ×2 PSNR/SSIM | Calib. s | Calib. peak MiB |"))
        #expect(md.contains("| harmoq | W4A4 | 37.20/0.9550 | 1 | — |"))
    }

    /// `--table2-refine`: each ablation row's plain and block-refined values side by side, hand-made cells.
    @Test func table2RefinementColumn() {
        func c(_ row: String, _ psnr: Double, _ secs: Double) -> PaperTables.Cell {
            PaperTables.Cell(table: "2", row: row, bits: "W3A3", set: "Set5", scale: 2, psnr: psnr, ssim: 0.9, calibrationSeconds: secs)
        }
        var spec = PaperTables.Spec.quick
        spec.tables = ["2"]; spec.table2Refine = true
        let cells = [c("none (MinMax)", 27.05, 7), c("none (MinMax) + block refinement", 33.5, 300),
                     c("SRC", 34.6, 60), c("SRC + block refinement", 36.9, 360), c("HSO", 29.2, 50)]
        let md = PaperTables.markdown(cells, spec: spec, command: "harmoq tables --only 2 --table2-refine")
        #expect(md.contains("| Method | Bits | Set5 ×2 PSNR/SSIM | Set5 ×2 + block refinement | Calib. s | Calib. s with refinement | Calib. peak MiB |"))
        #expect(md.contains("| none (MinMax) | W3A3 | 27.05/0.9000 | 33.50/0.9000 | 7 | 300 | — |"))
        #expect(md.contains("| SRC | W3A3 | 34.60/0.9000 | 36.90/0.9000 | 60 | 360 | — |"))
        #expect(md.contains("| HSO | W3A3 | 29.20/0.9000 | — | 50 | — | — |"))
        #expect(!md.contains("| SRC + block refinement |"), "refined rows are a column, not rows")
        #expect(md.contains("rows \"+ block refinement\""))
    }

    /// Refined rows of Table 1 are named by mode; the header says what "model refinement" and `2dquant` ran.
    @Test func refinedRowNamesAndHeader() {
        #expect(PaperTables.refinedRow("harmoq", mode: "block") == "harmoq + block refinement")
        #expect(PaperTables.refinedRow("harmoq", mode: "model") == "harmoq + model refinement")
        var spec = PaperTables.Spec.quick
        spec.table1Methods += ["2dquant"]; spec.refineMethods = ["harmoq"]; spec.refineModes = ["block", "model"]; spec.dqcIterations = 7
        let md = PaperTables.markdown([], spec: spec, command: "harmoq tables")
        #expect(md.contains("rows \"+ block refinement\""))
        #expect(md.contains("rows \"+ model refinement\""))
        #expect(md.contains("DQC: 7 Adam iterations"))
    }

    /// The peak column says how it was measured: files written before the heap trim (no `peakAfterTrim`) re-render with
    /// the old wording, new runs with the trim named.
    @Test func peakColumnWordingFollowsTheFile() throws {
        let old = "Calib. peak MiB = process peak RSS during that calibration (model and evaluation buffers included)."
        let new = "freed heap returned to the system at its start (`malloc_trim`"
        let before = PaperTables.markdown([], spec: .quick, command: "harmoq tables", peakAfterTrim: false)
        #expect(before.contains(old) && !before.contains(new))
        let after = PaperTables.markdown([], spec: .quick, command: "harmoq tables")
        #expect(after.contains(new) && !after.contains(old))
        let json = try JSONEncoder().encode(PaperTables.Document(command: "c", spec: .quick, cells: []))
        #expect(!String(decoding: json, as: UTF8.self).contains("peakAfterTrim"))
        #expect(try JSONDecoder().decode(PaperTables.Document.self, from: json).peakAfterTrim == nil)
    }

    @Test func rotatedRowsHeader() {
        var spec = PaperTables.Spec.quick
        #expect(!PaperTables.markdown([], spec: spec, command: "harmoq tables").contains("rotation\" ="))
        spec.rotatedMethods = ["minmax"]; spec.rotatedKind = .random
        let md = PaperTables.markdown([], spec: spec, command: "harmoq tables")
        #expect(md.contains("rows \"+ random rotation\" = the same method calibrated with online random rotations"))
    }
}

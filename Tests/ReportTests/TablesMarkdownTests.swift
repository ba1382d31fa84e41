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
}

import Foundation
import Testing
import SRCalibration
import _TestSupport

/// `harmoq tables --resume`: cells of an interrupted run are kept (not recomputed), missing ones are computed, and every
/// new cell reaches the checkpoint callback. Runs DAT-light ×2 on one Set5 image with a MinMax calibration on one patch.
@Suite(.enabled(if: SharedData.exists("models/dat-light-x2.safetensors") && SharedData.exists("data/DIV2K-calib")
                && SharedData.exists("data/train/T91") && SharedData.exists("data/Set5"),
                "needs ../shared (models/dat-light-x2.safetensors, data/DIV2K-calib, data/train/T91, data/Set5)"))
struct TablesResumeTests {
    static func spec() -> PaperTables.Spec {
        var s = PaperTables.Spec.quick
        s.tables = ["1"]; s.table1Methods = ["minmax"]; s.table1Bits = [4]; s.patches = 1; s.imageLimit = 1
        return s
    }

    @Test func keptCellsAreNotRecomputedAndMissingOnesAre() throws {
        let shared = SharedData.root.path
        // A marker PSNR no evaluation produces: kept cells must come back unchanged.
        let fp = PaperTables.Cell(table: "1", row: "FP (DAT-light)", bits: "32", set: "Set5", scale: 2, psnr: 1.25, ssim: 0.5, calibrationSeconds: 0)
        let mm = PaperTables.Cell(table: "1", row: "minmax", bits: "W4A4", set: "Set5", scale: 2, psnr: 2.5, ssim: 0.5, calibrationSeconds: 3)
        var checkpoints = 0
        let all = try PaperTables.run(spec: Self.spec(), shared: shared, done: [fp, mm], onCell: { _ in checkpoints += 1 })
        #expect(all.first { $0.row == "FP (DAT-light)" }?.psnr == 1.25)
        #expect(all.first { $0.row == "minmax" }?.psnr == 2.5)
        #expect(checkpoints == 0, "nothing new was computed")

        // Only the FP cell kept: the MinMax cell is computed (a real PSNR) and checkpointed.
        var last: [PaperTables.Cell] = []
        let some = try PaperTables.run(spec: Self.spec(), shared: shared, done: [fp], onCell: { last = $0 })
        let computed = try #require(some.first { $0.row == "minmax" })
        #expect(computed.psnr > 20 && computed.psnr < 45, "a real W4A4 PSNR, got \(computed.psnr)")
        #expect(some.first { $0.row == "FP (DAT-light)" }?.psnr == 1.25)
        #expect(last.contains { $0.row == "minmax" && $0.psnr == computed.psnr })
    }

    /// `--rotated-methods`: a method also gets the row "<method> + hadamard rotation", calibrated with online Hadamard
    /// rotations (another plan: another PSNR than the kept unrotated cell's real value), and its refined rows are named
    /// after it; `--reuse` takes cells only from a run whose settings match, naming the ones that differ.
    @Test func rotatedRowsAreCalibratedWithRotationsAndReuseChecksSettings() throws {
        let shared = SharedData.root.path
        var spec = Self.spec()
        spec.rotatedMethods = ["minmax"]
        let fp = PaperTables.Cell(table: "1", row: "FP (DAT-light)", bits: "32", set: "Set5", scale: 2, psnr: 1.25, ssim: 0.5, calibrationSeconds: 0)
        let plain = try PaperTables.run(spec: Self.spec(), shared: shared, done: [fp])
        let mm = try #require(plain.first { $0.row == "minmax" })
        let all = try PaperTables.run(spec: spec, shared: shared, done: [fp, mm])
        #expect(all.map(\.row) == ["FP (DAT-light)", "Bicubic", "minmax", "minmax + hadamard rotation"])
        let rotated = try #require(all.first { $0.row == PaperTables.rotatedRow("minmax", kind: .hadamard) })
        #expect(rotated.psnr > 20 && rotated.psnr < 45 && rotated.psnr != mm.psnr, "rotated \(rotated.psnr) vs unrotated \(mm.psnr)")
        #expect(PaperTables.refinedRow(PaperTables.rotatedRow("dobi", kind: .hadamard), mode: "block") == "dobi + hadamard rotation + block refinement")
        #expect(PaperTables.differences(spec, Self.spec()).isEmpty, "the rows asked for are not a setting")
        var other = spec
        other.patches = 2; other.rotation = .random
        #expect(PaperTables.differences(other, spec) == ["patches 2 vs 1", "--rotate random vs none"])
    }
}

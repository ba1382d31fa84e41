import _TestSupport
import Foundation
import HarmoQ
@testable import SRCalibration
import SREngine
import SRIO
import Testing

/// `harmoq calibrate --method 2dquant`'s checkpoint (`DQCCheckpoint`, written after every DQC iteration): a run stopped
/// after iteration 1 and resumed writes the same QPARAMS bytes as an uninterrupted run (DOBI is not rerun; the augmentation
/// stays in step), and a resume with other settings is refused, naming them. DAT-light ×2, W4A4, DOBI on 1 patch,
/// 3 DQC iterations × batch 1 with augmentation.
@Suite(.serialized, .enabled(if: SharedData.exists("models/dat-light-x2.safetensors") && SharedData.exists("data/DIV2K-calib"),
                             "../shared DAT-light weights or DIV2K-calib not present"))
struct DQCResumeTests {
    final class Calls: @unchecked Sendable { var n = 0 }

    static func temp(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("harmoq-dqc-\(ProcessInfo.processInfo.processIdentifier)-\(name)").path
    }

    @Test func stoppedAndResumedEqualsUninterrupted() throws {
        let path = SharedData.path("models/dat-light-x2.safetensors")
        let sources = CalibrationPatches.defaultSources(sharedRoot: SharedData.root.path)
        var o = DQCTrainer.Options()
        o.bits = 4; o.dobiPatches = 1; o.iterations = 3; o.batch = 1
        let full = try DQCTrainer.run(modelPath: path, sources: sources, options: o, toolVersion: "test",
                                      checkpointing: DQCCheckpointing(path: Self.temp("a.partial")))
        let cpPath = Self.temp("b.partial")
        let calls = Calls()
        #expect(throws: DQCInterrupted.self) {
            _ = try DQCTrainer.run(modelPath: path, sources: sources, options: o, toolVersion: "test",
                                   checkpointing: DQCCheckpointing(path: cpPath, shouldStop: { calls.n += 1; return true }))
        }
        let cp = try DQCCheckpoint.read(path: cpPath)
        #expect(cp.iteration == 1 && cp.losses.count == 1 && calls.n == 1)
        var other = o
        other.lr = 5e-3
        #expect(throws: QuantError.self) {
            _ = try DQCTrainer.run(modelPath: path, sources: sources, options: other, toolVersion: "test",
                                   checkpointing: DQCCheckpointing(path: cpPath, resume: true))
        }
        let resumed = try DQCTrainer.run(modelPath: path, sources: sources, options: o, toolVersion: "test",
                                         checkpointing: DQCCheckpointing(path: cpPath, resume: true))
        #expect(resumed.losses == full.losses, "losses \(resumed.losses) vs \(full.losses)")
        let a = Self.temp("a.qparams"), b = Self.temp("b.qparams")
        try full.qparams.write(to: a)
        try resumed.qparams.write(to: b)
        #expect(try Data(contentsOf: URL(fileURLWithPath: a)) == Data(contentsOf: URL(fileURLWithPath: b)))
        #expect(try Data(contentsOf: URL(fileURLWithPath: a + ".json")) == Data(contentsOf: URL(fileURLWithPath: b + ".json")))
    }

    /// A non-finite loss stops DQC with an error naming the iteration (the official code would carry NaN bounds on; before,
    /// this trainer appended it and went on).
    @Test func nonFiniteLossStopsNamingTheIteration() throws {
        let weights = try ModelLoader.readStateDict(path: SharedData.path("models/dat-light-x2.safetensors"))
        let engine = try ModelLoader.build(weights: weights, options: .init(splitQKV: true))
        let layout = try TwoDQuantLayout.quantizers(of: engine)
        let set = try TwoDQuantSiteSet(layout: layout, bounds: Dictionary(uniqueKeysWithValues: layout.map { ($0.name, (Float(-1), Float(1))) }), bits: 4)
        var o = DQCTrainer.Options()
        o.iterations = 1; o.augment = false
        // The student's upsampling conv weights at Float's largest finite value: its sums overflow, the FP teacher's do not.
        var student = weights
        let up = try #require(student["upsample.0.weight"])
        student["upsample.0.weight"] = Tensor(shape: up.shape, data: [Float](repeating: .greatestFiniteMagnitude, count: up.count))
        let input = Tensor(shape: [1, 3, 16, 16], data: [Float](repeating: 0.5, count: 3 * 16 * 16))
        #expect { _ = try DQCTrainer.train(engine: engine, weights: student, set: set, options: o) { _ in [input] } } throws: { e in
            "\(e)".contains("non-finite loss") && "\(e)".contains("iteration 1")
        }
    }
}

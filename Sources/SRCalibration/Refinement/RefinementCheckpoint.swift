import Foundation
import HarmoQ

/// Thrown by a checkpointed refinement that was asked to stop (SIGINT/SIGTERM or a test's stop callback): the blocks
/// refined so far are in the checkpoint and the output was not written.
public struct RefinementInterrupted: Error, CustomStringConvertible, Sendable {
    /// Where it stopped, e.g. "after block 7 of 18".
    public let detail: String
    public let checkpoint: String?
    public var description: String {
        "refinement interrupted \(detail); "
            + (checkpoint.map { "checkpoint '\($0)' (+ .json) kept, the output was not written — rerun the same command with --resume to continue" }
                ?? "nothing was written")
    }
}

/// Per-block checkpoint of block reconstruction (`harmoq refine --resume`): `<out>.partial` (+ `.json`), a QPARAMS file
/// with the plan's sites as refined so far and the finished blocks' records, written atomically after every block.
/// A note records the run's settings; a resume with other settings is refused, naming each difference.
///
/// Resuming rebuilds the differentiable plan from the checkpoint's sites, recomputes the finished blocks' outputs (the
/// same forwards that produced them) and continues with the next block. Each block's optimiser state and input-mixing
/// draws start afresh from values that depend only on the block's index, so the final plan equals an uninterrupted
/// run's byte for byte (`RefinementResumeTests`). The model-distillation stage of `block+model` is not checkpointed:
/// a resume after the block stage reruns it from the refined blocks.
public struct RefinementCheckpoint: Sendable {
    static let settingsNote = "harmoq refinement checkpoint settings: "

    /// `<out>.partial`.
    public let path: String
    /// Everything that determines the result, as name → value (compared on resume).
    public let settings: [String: String]
    public let resume: Bool

    public init(out: String, settings: [String: String], resume: Bool) {
        path = out + ".partial"
        self.settings = settings
        self.resume = resume
    }

    /// The settings a refinement's result depends on besides the options: the model and plan files (FNV-1a 64 digests),
    /// the patches, and the tool version.
    public static func settings(modelPath: String, planPath: String, patchCount: Int, patchSeed: UInt64, sources: [String],
                                stages: String, toolVersion: String) throws -> [String: String] {
        [
            "model digest (FNV-1a 64)": try CalibrationCheckpoint.fileDigest(modelPath),
            "plan digest (FNV-1a 64)": try CalibrationCheckpoint.fileDigest(planPath),
            "patches": String(patchCount), "patch seed": String(patchSeed), "sources": sources.joined(separator: ","),
            "stages": stages, "tool version": toolVersion,
        ]
    }

    /// The checkpoint's sites and finished block records; one clear error when it is missing, unreadable or made with
    /// other settings.
    func load() throws -> (sites: [SiteQuantization], stages: [RefinementRecord.Stage]) {
        let q = try CheckpointFile.read(path, settings: settings, note: Self.settingsNote, noun: "refinement checkpoint", kind: "refinement")
        return (q.sites, q.refinements?.last?.stages ?? [])
    }

    /// Writes the plan so far and the finished blocks' records.
    func write(plan: QParams, stages: [RefinementRecord.Stage]) throws {
        var q = plan
        q.notes = [Self.settingsNote + CalibrationCheckpoint.encode(settings)]
        q.refinements = [RefinementRecord(mode: "block (checkpoint)", settings: "", patches: 0, stages: stages)]
        try q.write(to: path)
    }

    /// Deletes the checkpoint (both files), if any.
    public func remove() { CheckpointFile.remove(path) }

    /// True when a checkpoint (either file) is at `path`.
    var exists: Bool { CheckpointFile.exists(path) }
}

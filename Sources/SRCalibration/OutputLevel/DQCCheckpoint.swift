import Foundation
import HarmoQ
import SRIO

/// DQC's training state after some iterations (`harmoq calibrate --method 2dquant`: `<out>.partial`, written after every
/// iteration; SIGINT stops after the current one): what `--resume` needs to continue and finish with the same bytes as an
/// uninterrupted run. DOBI is not rerun on resume (its bounds are the start of the saved trajectory).
public struct DQCCheckpoint: Codable, Sendable {
    /// The run's settings and model in words; a resume with other settings is refused.
    public var settings: String
    /// DQC iterations done.
    public var iteration: Int
    /// [lb₀, ub₀, lb₁, ub₁, …] in `TwoDQuantLayout` order.
    public var bounds: [Float]
    public var adam: BoundAdam.State
    /// l_total of every iteration done, and the trainer's notes so far.
    public var losses: [Double]
    public var notes: [String]

    public func write(to path: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        try AtomicFile.write(try enc.encode(self), to: path)
    }

    public static func read(path: String) throws -> DQCCheckpoint {
        do { return try JSONDecoder().decode(DQCCheckpoint.self, from: Data(contentsOf: URL(fileURLWithPath: path))) }
        catch { throw QuantError("--resume: cannot read the 2dquant checkpoint '\(path)': \(error)") }
    }
}

/// Where and whether `DQCTrainer.run` checkpoints, resumes and stops.
public struct DQCCheckpointing: Sendable {
    public var path: String
    public var resume: Bool
    /// Checked after every iteration: true → write the checkpoint and throw `DQCInterrupted`.
    public var shouldStop: (@Sendable () -> Bool)?

    public init(path: String, resume: Bool = false, shouldStop: (@Sendable () -> Bool)? = nil) {
        self.path = path; self.resume = resume; self.shouldStop = shouldStop
    }
}

/// DQC stopped on request after `iteration` iterations; the checkpoint is at `path`.
public struct DQCInterrupted: Error, CustomStringConvertible {
    public let iteration: Int
    public let path: String
    public var description: String {
        "2dquant stopped after DQC iteration \(iteration); its state is in \(path): rerun the same command with --resume"
    }
}

extension DQCTrainer.Options {
    /// Every setting the trained bounds depend on, in words (a checkpoint's `settings`, with the model's fingerprint).
    func summary(model fingerprint: String, sources: [String]) -> String {
        let rot = rotation.map { "\($0.rawValue) at \(rotationLayers.map(\.rawValue).sorted().joined(separator: ","))" } ?? "none"
        return "W\(bits)A\(bits); DOBI \(dobiPatches) patches; DQC \(iterations) × \(batch), lr \(lr), betas (\(beta1), \(beta2)), eps \(eps); "
            + "loss \(pixelWeight)·pix + \(featureWeight)·feat; augment \(augment); seed \(seed); rotation \(rot); model \(fingerprint); "
            + "sources \(sources.joined(separator: ","))"
    }
}

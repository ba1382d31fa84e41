import Foundation
import HarmoQ
import SRIO

/// Thrown by a checkpointed calibration that was asked to stop (SIGINT/SIGTERM, or a test's stop callback): the
/// sites done so far are in the checkpoint and the output file was not touched.
public struct CalibrationInterrupted: Error, CustomStringConvertible, Sendable {
    public let sitesDone: Int
    public let checkpoint: String
    public var description: String {
        "calibration interrupted after \(sitesDone) site(s); checkpoint '\(checkpoint)' (+ .json) kept, the output was not "
            + "written — rerun the same command with --resume to continue"
    }
}

/// Per-site checkpoint of `harmoq calibrate`: `<out>.partial` (+ `<out>.partial.json`), a QPARAMS file holding the
/// sites calibrated so far, written atomically after every `every` sites. One of its notes records the run's settings;
/// `--resume` refuses a checkpoint whose settings differ from the current run's and names the differing settings.
///
/// The output file itself is written only once, after the last site, so an interrupted run leaves it as it was.
/// Resumed sites are taken from the checkpoint bit for bit (Float tensors, shortest-round-trip JSON), the forward
/// still runs through them, and every site's seed depends only on its index: the final QPARAMS equals an
/// uninterrupted run's byte for byte.
public enum CalibrationCheckpoint {
    static let settingsNote = "harmoq checkpoint settings: "

    /// The checkpoint path for an output path.
    public static func path(for out: String) -> String { out + ".partial" }

    /// Everything that determines the sites' results, as name → value (compared on resume).
    public static func settings(of r: CalibrationRun.Request) throws -> [String: String] {
        let o = r.options
        var s = [
            "model": (r.modelPath as NSString).lastPathComponent,
            "model digest (FNV-1a 64)": try fileDigest(r.modelPath),
            "method": o.method.name,
            "bits": "w\(o.weightBits)a\(o.activationBits)",
            "seed": String(o.seed),
            "patches": String(r.patchCount),
            "patch seed": String(r.patchSeed),
            "sources": r.sources.joined(separator: ","),
            "fp inputs": String(o.fpInputs),
            "site limit": o.siteLimit.map(String.init) ?? "all",
            "operand values per patch": String(o.operandValuesPerPatch),
            "tool version": r.toolVersion,
        ]
        if let k = o.rotation {
            s["rotate"] = k.rawValue
            if o.rotationLayers != RotationPolicy.defaultLayers { s["rotate sites"] = o.rotationLayers.map(\.rawValue).sorted().joined(separator: ",") }
        }   // only when set: checkpoints from before --rotate still resume
        // Every HarmoQ setting on its own line, so a refusal names the one that differs (e.g. config.iterations).
        if case .harmoq(let c) = o.method, let data = try? JSONEncoder().encode(c),
           let fields = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] {
            for (k, v) in fields { s["config." + k] = "\(v)" }
        } else {
            s["method parameters"] = String(describing: o.method)
        }
        return s
    }

    /// FNV-1a 64 of a file's bytes, hex (identifies the model file; not a cryptographic hash).
    static func fileDigest(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else { throw QuantError("cannot read model file '\(path)'") }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        data.withUnsafeBytes { for b in $0 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 } }
        return String(h, radix: 16)
    }

    static func encode(_ s: [String: String]) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return String(decoding: (try? enc.encode(s)) ?? Data(), as: UTF8.self)
    }

    /// Reads the checkpoint for `out` and returns its sites; throws one clear error when it is missing, unreadable, or
    /// was made with other settings (naming each differing setting).
    public static func load(out: String, settings: [String: String]) throws -> [SiteQuantization] {
        try CheckpointFile.read(path(for: out), settings: settings, note: settingsNote, noun: "checkpoint", kind: "calibration").sites
    }

    /// Deletes the checkpoint of `out` (both files), if any.
    public static func remove(out: String) { CheckpointFile.remove(path(for: out)) }

    /// The sites done so far and when they were last written (shared with the per-site callback).
    final class State: @unchecked Sendable {
        let lock = NSLock()
        var sites: [SiteQuantization]
        var written: Int
        init(_ s: [SiteQuantization]) { sites = s; written = s.count }
    }

    static func write(_ sites: [SiteQuantization], request r: CalibrationRun.Request, settings: [String: String], to p: String) throws {
        let q = QParams(calibrated: r.options, modelPath: r.modelPath, architecture: "partial checkpoint", scale: 0,
                        toolVersion: r.toolVersion, patchCount: r.patchCount, patchSources: [],
                        notes: [settingsNote + encode(settings)], sites: sites)
        try q.write(to: p)
    }

    /// A whole checkpointed calibration: starts afresh (removing a stale checkpoint) or resumes from `<out>.partial`,
    /// writes the checkpoint after every `every` sites, stops with `CalibrationInterrupted` after the first site that
    /// finishes once `shouldStop()` is true, and on completion writes `out` (+ .json) atomically and removes the checkpoint.
    public static func run(_ request: CalibrationRun.Request, out: String, resume: Bool, every: Int = 1,
                           shouldStop: @escaping @Sendable () -> Bool,
                           log: ((String) -> Void)? = nil) throws -> CalibrationRun.Outcome {
        guard every >= 1 else { throw QuantError("--checkpoint-every must be at least 1, got \(every)") }
        let settings = try settings(of: request)
        let cp = path(for: out)
        var r = request
        if resume {
            r.resume = try load(out: out, settings: settings)
            log?("resuming from '\(cp)': \(r.resume.count) site(s) already calibrated")
        } else if CheckpointFile.exists(cp) {
            log?("removing the old checkpoint '\(cp)' (pass --resume to continue it instead)")
            remove(out: out)
        }
        let state = State(r.resume)
        let req = r
        r.onSite = { index, site in
            state.lock.lock(); defer { state.lock.unlock() }
            if index >= state.sites.count { state.sites.append(site) }
            let stop = shouldStop()
            if state.sites.count - state.written >= every || (stop && state.sites.count > state.written) {
                try write(state.sites, request: req, settings: settings, to: cp)
                state.written = state.sites.count
            }
            if stop { throw CalibrationInterrupted(sitesDone: state.sites.count, checkpoint: cp) }
        }
        let outcome = try CalibrationRun.run(r, log: log)
        try outcome.qparams.write(to: out)
        remove(out: out)
        return outcome
    }
}

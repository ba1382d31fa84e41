import Foundation
import HarmoQ

/// A checkpoint stored as a QPARAMS file (`<path>` + `<path>.json`) whose notes carry the run's settings: the one reader,
/// existence test and remover that `CalibrationCheckpoint` (per site) and `RefinementCheckpoint` (per block) share.
enum CheckpointFile {
    /// True when either of the two files exists (a stale or half-deleted checkpoint counts).
    static func exists(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path) || FileManager.default.fileExists(atPath: path + ".json")
    }

    /// Deletes both files, if any.
    static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.removeItem(atPath: path + ".json")
    }

    /// Reads the checkpoint at `path` and checks that the settings recorded in its note (prefix `note`) equal `settings`;
    /// one clear error when it is missing ("no `noun` …"), unreadable, not a `kind` checkpoint, or made with other
    /// settings (naming each difference).
    static func read(_ path: String, settings: [String: String], note: String, noun: String, kind: String) throws -> QParams {
        guard FileManager.default.fileExists(atPath: path), FileManager.default.fileExists(atPath: path + ".json") else {
            throw QuantError("--resume: no \(noun) '\(path)' (+ .json) to resume from; run without --resume to start afresh")
        }
        let q: QParams
        do { q = try QParams.read(path: path) } catch {
            throw QuantError("--resume: checkpoint '\(path)' is unreadable (\(error)); delete it and run without --resume")
        }
        guard let line = q.notes.first(where: { $0.hasPrefix(note) }),
              let saved = try? JSONDecoder().decode([String: String].self, from: Data(line.dropFirst(note.count).utf8)) else {
            throw QuantError("--resume: '\(path)' is not a \(kind) checkpoint (no settings note)")
        }
        let diffs = Set(saved.keys).union(settings.keys).sorted().compactMap { k -> String? in
            saved[k] == settings[k] ? nil : "\(k): checkpoint '\(saved[k] ?? "-")', this run '\(settings[k] ?? "-")'"
        }
        guard diffs.isEmpty else {
            throw QuantError("--resume: checkpoint '\(path)' was made with other settings (\(diffs.joined(separator: "; "))); "
                             + "rerun with the checkpoint's settings or without --resume")
        }
        return q
    }
}

import Foundation
import SRIO

/// Compares producers' current values with Golden/ and (only through `update`) rewrites them.
public struct GoldenStore {
    public let dir: String
    public let context: GoldenContext
    public let producers: [any GoldenProducer]

    public init(dir: String, context: GoldenContext, producers: [any GoldenProducer] = GoldenRegistry.producers) {
        self.dir = dir; self.context = context; self.producers = producers
    }

    public enum Status: String, Codable, Sendable { case ok, differs, missing, skipped, error }

    public struct FileResult: Codable, Sendable {
        public let file: String
        public let kind: String
        public let status: Status
        /// Human-readable diff lines (empty when ok).
        public let diff: [String]
        public let compared: Int
        /// Stored values not compared because their inputs are absent here (`GoldenProducer.unavailable`), and why.
        public var skippedValues = 0
        public var skipReason: String? = nil
    }

    /// Compares every value a producer makes now with the stored file. Pure: reads only.
    public static func compare(id: String, produced: [String: GoldenValue], stored: GoldenFile,
                               tolerance: (String) -> GoldenTolerance) -> (Status, [String]) {
        var diff: [String] = []
        for key in stored.values.keys.sorted() {
            let exp = stored.values[key]!
            guard let got = produced[key] else { diff.append("  - \(key): expected \(exp), no longer produced"); continue }
            let tol = tolerance(key)
            if !tol.accepts(got, exp) {
                var line = "  ≠ \(key): expected \(exp), got \(got) (tolerance \(tol))"
                if case .number(let a) = got, case .number(let b) = exp, a.isFinite, b.isFinite {
                    line += String(format: ", |Δ| = %.3g", abs(a - b))
                }
                diff.append(line)
            }
        }
        for key in produced.keys.sorted() where stored.values[key] == nil {
            diff.append("  + \(key): new value \(produced[key]!) not in the golden file")
        }
        return (diff.isEmpty ? .ok : .differs, diff)
    }

    public func load(_ p: any GoldenProducer) throws -> GoldenFile? {
        guard let d = FileManager.default.contents(atPath: dir + "/" + p.fileName) else { return nil }
        do { return try JSONDecoder().decode(GoldenFile.self, from: d) } catch {
            throw IOError("\(dir)/\(p.fileName): not a golden file (\(error))")
        }
    }

    /// `harmoq golden check`.
    public func check(only: Set<String>? = nil, progress: (String) -> Void = { _ in }) -> [FileResult] {
        var out: [FileResult] = []
        for p in producers where only == nil || only!.contains(p.id) {
            progress(p.id)
            do {
                guard let stored = try load(p) else {
                    out.append(FileResult(file: p.fileName, kind: p.kind.rawValue, status: .missing,
                                          diff: ["  golden file missing: run `harmoq golden update --reason …`"], compared: 0))
                    continue
                }
                var comparable = stored
                var produced = try p.produce(context)
                let skip = p.unavailable(context)
                if let skip {
                    comparable.values = stored.values.filter { !skip.skips($0.key) }
                    produced = produced.filter { !skip.skips($0.key) }
                }
                let (st, diff) = GoldenStore.compare(id: p.id, produced: produced, stored: comparable, tolerance: p.tolerance(for:))
                var r = FileResult(file: p.fileName, kind: p.kind.rawValue, status: st, diff: diff, compared: comparable.values.count)
                r.skippedValues = stored.values.count - comparable.values.count
                r.skipReason = skip?.reason
                out.append(r)
            } catch let e as GoldenUnavailable {
                out.append(FileResult(file: p.fileName, kind: p.kind.rawValue, status: .skipped, diff: ["  skipped: \(e)"], compared: 0))
            } catch {
                out.append(FileResult(file: p.fileName, kind: p.kind.rawValue, status: .error, diff: ["  error: \(error)"], compared: 0))
            }
        }
        return out
    }

    /// `harmoq golden update --reason …`: rewrites the files of `only` (or all) and records the reason.
    /// Independent references are refreshed from their outside source (`expected`), never from our output.
    public func update(reason: String, toolVersion: String, date: String, only: Set<String>? = nil,
                       progress: (String) -> Void = { _ in }) throws -> [String] {
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.count >= 8 else { throw IOError("golden update: --reason must say why (at least 8 characters), got '\(reason)'") }
        var manifest = try GoldenManifest.load(dir: dir)
        var written: [String] = []
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for p in producers where only == nil || only!.contains(p.id) {
            progress(p.id)
            if let skip = p.unavailable(context) { throw IOError("golden update \(p.id): \(skip.reason) — nothing written") }
            let values: [String: GoldenValue]
            do { values = p.kind == .independentReference ? try p.expected(context) : try p.produce(context) }
            catch let e as GoldenUnavailable { throw IOError("golden update \(p.id): \(e) — nothing written") }
            let file = GoldenFile(id: p.id, values: values)
            try AtomicFile.write(try file.encoded(), to: dir + "/" + p.fileName)
            let upd = GoldenManifest.Update(date: date, reason: trimmed, toolVersion: toolVersion)
            if let i = manifest.entries.firstIndex(where: { $0.file == p.fileName }) {
                manifest.entries[i].what = p.what
                manifest.entries[i].producer = p.producer
                manifest.entries[i].kind = p.kind.rawValue
                manifest.entries[i].tolerance = p.tolerance
                manifest.entries[i].history.append(upd)
            } else {
                manifest.entries.append(GoldenManifest.Entry(file: p.fileName, what: p.what, producer: p.producer,
                                                            kind: p.kind.rawValue, tolerance: p.tolerance, history: [upd]))
            }
            written.append(p.fileName)
        }
        manifest.entries.sort { $0.file < $1.file }
        try AtomicFile.write(try manifest.encoded(), to: dir + "/" + GoldenManifest.fileName)
        return written
    }
}

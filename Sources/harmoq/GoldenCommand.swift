import ArgumentParser
import Foundation
import HarmoQGolden

/// `harmoq golden check|update`: golden-file regression. CI runs `check`; only `update --reason` changes files.
struct GoldenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "golden",
        abstract: "Compare this build's outputs with Golden/ (check) or rewrite Golden/ with a recorded reason (update).",
        subcommands: [Check.self, Update.self])

    struct Locations: ParsableArguments {
        @Option(help: "Folder holding the golden files and manifest.json.")
        var dir: String = "Golden"
        @Option(help: "Shared data folder (models, reference tensors, data sets).")
        var shared: String = "../shared"
        @Option(help: "Only these golden ids (comma-separated), e.g. quantizer-tables,checker-results.")
        var only: String?

        var onlySet: Set<String>? { only.map { Set($0.split(separator: ",").map { String($0) }) } }
        var store: GoldenStore {
            GoldenInfo.toolVersion = HarmoqVersion.string
            return GoldenStore(dir: dir, context: GoldenContext(repoRoot: FileManager.default.currentDirectoryPath, sharedDir: shared))
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute every golden value and compare with the stored file (readable diff; exit 1 on any difference, missing file or error).")
        @OptionGroup var where_: Locations
        @Option(help: "Also write the results as JSON to this path.")
        var json: String?

        func run() throws {
            let results = where_.store.check(only: where_.onlySet) { FileHandle.standardError.write(Data("golden: computing \($0) …\n".utf8)) }
            var passed = 0, failed = 0
            for r in results {
                switch r.status {
                case .ok: passed += 1
                    print("ok      \(r.file) (\(r.compared) values, \(r.kind))"
                          + (r.skippedValues > 0 ? "; \(r.skippedValues) more values SKIPPED: \(r.skipReason ?? "")" : ""))
                case .skipped: print("SKIPPED \(r.file)"); r.diff.forEach { print($0) }
                default: failed += 1; print("\(r.status.rawValue.uppercased()) \(r.file) (\(r.kind))"); r.diff.prefix(40).forEach { print($0) }
                    if r.diff.count > 40 { print("  … \(r.diff.count - 40) more differences") }
                }
            }
            if let json {
                let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
                try enc.encode(results).write(to: URL(fileURLWithPath: json))
            }
            let skipped = results.filter { $0.status == .skipped }.count
            print("\(passed) passed, \(failed) failed" + (skipped > 0 ? ", \(skipped) skipped" : ""))
            if failed > 0 { throw ExitCode(1) }
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rewrite golden files from this build (self-regression) or from their outside source (independent references), recording --reason in Golden/manifest.json.")
        @OptionGroup var where_: Locations
        @Option(help: "Why the golden values change (required; recorded in the manifest with the date and tool version).")
        var reason: String

        func run() throws {
            let f = DateFormatter(); f.dateFormat = "yyyy-MM-dd"; f.timeZone = TimeZone(identifier: "UTC")
            let written = try where_.store.update(reason: reason, toolVersion: HarmoqVersion.string, date: f.string(from: Date()),
                                                  only: where_.onlySet) { FileHandle.standardError.write(Data("golden: computing \($0) …\n".utf8)) }
            for w in written { print("wrote \(where_.dir)/\(w)") }
            print("recorded reason in \(where_.dir)/manifest.json: \(reason)")
        }
    }
}

import ArgumentParser
import Foundation
import HarmoQ
import HarmoQReport
import SRCalibration
import SRIO

/// `harmoq tables`: regenerate Tables 1–3 and the O1 table on DAT-light (Markdown + JSON).
struct Tables: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tables",
        abstract: "Regenerate the paper's Tables 1–3 and the O1 table on DAT-light (Markdown + JSON).",
        discussion: """
        Every cell calibrates DAT-light with one method (all sites, quantized-prefix inputs) and evaluates it on the \
        benchmark sets. --quick: ×2, Set5, 2 patches, 40 ABR iterations, W4A4 in Table 1 (a few minutes on 2 cores); \
        the default (full) run: ×2 and ×4, Set5 + Set14, W2/W3/W4/W8, 32 patches, 300 iterations (hours).
        """)

    @Flag(help: "Small run (×2, Set5, 2 patches, 40 ABR iterations, Table 1 at W4A4 only); the Markdown header says what ran.")
    var quick = false

    @Option(help: "Comma-separated tables to make: 1, 2, 3, O1 (default all).")
    var only: String?

    @Option(help: "Folder of ../shared (models and data).")
    var shared: String = "../shared"

    @Option(help: "Output prefix: writes <prefix>.md and <prefix>.json.")
    var out: String = "docs/tables"

    @Option(help: "Override the number of calibration patches.")
    var patches: Int?

    @Option(help: "Override the ABR iterations per linear site.")
    var iterations: Int?

    @Option(help: "Override the scales, comma-separated (2, 3, 4), e.g. --scales 2,4.")
    var scales: String?

    @Option(help: "Override the benchmark sets, comma-separated folder names under <shared>/data, e.g. --sets Set5,Set14.")
    var sets: String?

    @Option(help: "Override the bit widths of Table 1 (WbAb), comma-separated, e.g. --bits 2,3,4,8.")
    var bits: String?

    @Option(help: "Override the seed of patch drawing and of every random choice.")
    var seed: UInt64?

    @Option(help: "Evaluate only the first N images of each set.")
    var limit: Int?

    @Option(help: "Instead of making tables, evaluate this existing QPARAMS file on the run's sets (Set5 with --quick) and print PSNR/SSIM.")
    var evaluate: String?

    @Option(help: "Instead of running, re-render <out>.md (and --svg charts) from a JSON file written by an earlier run.")
    var render: String?

    @Option(help: "Also write SVG charts into this folder: PSNR vs bits per method (Table 1) and the O1 asymmetry.")
    var svg: String?

    @Option(help: "Online rotations in every calibration of the run: none | hadamard | random (as `harmoq calibrate --rotate`; docs/rotations.md).")
    var rotate: RotateOption = .none

    @Option(help: "Override the Table-1 methods, comma-separated registry names (default minmax,percentile,dobi,harmoq-literal,harmoq; `2dquant` adds the official DOBI + DQC, docs/2dquant.md).")
    var methods: String?

    @Option(help: "Comma-separated Table-1 methods that also get refined rows '<method> + <mode> refinement' (modes: --refine-modes): the same plan after `harmoq refine`'s defaults on the same patches (docs/refinement.md).")
    var refineMethods: String?

    @Option(help: "With --refine-methods: comma-separated refinement modes, each a row: block (block reconstruction), model (whole-model distillation of the bounds), block+model. Default block.")
    var refineModes: String?

    @Flag(help: "Table 2: also refine every ablation row's plan with block reconstruction (`harmoq refine`'s defaults) — a '+ block refinement' column.")
    var table2Refine = false

    @Option(help: "DQC iterations of the 2dquant rows (default: `harmoq calibrate --method 2dquant`'s, 50 × batch 2).")
    var dqcIterations: Int?

    @Option(help: "Comma-separated Table-1 methods that also get a row '<method> + <kind> rotation': the method calibrated with online rotations (--rotated-kind) at every qkv, fc1 and fc2 input, as `harmoq calibrate --rotate`; with --refine-methods also its refined rows (docs/rotations.md).")
    var rotatedMethods: String?

    @Option(help: "With --rotated-methods: the rotation of those rows, hadamard or random (default hadamard).")
    var rotatedKind: RotateOption = .hadamard

    @Option(help: "Take the cells of an earlier run's JSON (<prefix>.json) instead of recomputing them, where row, bits, scale and set match; its settings (patches, iterations, seed, refinement rows, image limit, --rotate, DQC iterations) must equal this run's. Repeatable.")
    var reuse: [String] = []

    @Flag(help: "Continue an interrupted run from <out>.partial.json (written after every cell): its cells are kept and only the missing ones are computed. Every setting must be the same.")
    var resume = false

    /// A tables JSON (`PaperTables.Document`) at `path`; an unreadable one throws "<what> '<path>': <error>".
    func readDocument(_ path: String, _ what: String) throws -> PaperTables.Document {
        do { return try JSONDecoder().decode(PaperTables.Document.self, from: Data(contentsOf: URL(fileURLWithPath: path))) }
        catch { throw CLIError("\(what) '\(path)': \(error)") }
    }

    func run() throws {
        if let path = evaluate {
            let sets = quick ? ["Set5"] : ["Set5", "Set14"]
            for (name, p, s) in try PaperTables.evaluate(qparamsPath: path, shared: shared, sets: sets, limit: limit, log: { CalibrationCLI.stderr($0) }) {
                print(String(format: "%@ PSNR %.4f SSIM %.5f (%@)", name, p, s, path))
            }
            return
        }
        typealias Doc = PaperTables.Document
        if let render {
            let doc = try readDocument(render, "--render: cannot read tables JSON")
            let md = PaperTables.markdown(doc.cells, spec: doc.spec, command: doc.command, peakAfterTrim: doc.peakAfterTrim ?? false)
                + "\n_This Markdown was re-rendered from `\((render as NSString).lastPathComponent)` by `harmoq tables --render`; the numbers are those of the run above._\n"
            try AtomicFile.write(md, to: out + ".md")
            if let svg { try ChartFiles.write(PaperCharts.psnrVsBits(doc.cells) + PaperCharts.o1Asymmetry(doc.cells), to: svg) }
            CalibrationCLI.stderr("re-rendered \(out).md from \(render) (\(doc.cells.count) cells)")
            print(md)
            return
        }
        var spec = quick ? PaperTables.Spec.quick : PaperTables.Spec.full
        if let only { spec.tables = only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() == "O1" ? "O1" : String($0) } }
        for t in spec.tables where !["1", "2", "3", "O1"].contains(t) { throw CLIError("--only: unknown table '\(t)' (use 1, 2, 3, O1)") }
        if let patches { guard patches >= 1 else { throw CLIError("--patches must be ≥ 1") }; spec.patches = patches }
        if let iterations { guard iterations >= 0 else { throw CLIError("--iterations must be ≥ 0") }; spec.iterations = iterations }
        func ints(_ s: String, _ flag: String, _ ok: ClosedRange<Int>) throws -> [Int] {
            let v = s.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !v.isEmpty, v.allSatisfy({ $0.map { ok.contains($0) } ?? false }) else {
                throw CLIError("\(flag) must be a comma-separated list of integers in \(ok.lowerBound)…\(ok.upperBound), got '\(s)'")
            }
            return v.map { $0! }
        }
        if let scales { spec.scales = try ints(scales, "--scales", 2...4) }
        if let bits { spec.table1Bits = try ints(bits, "--bits", 1...16) }
        if let sets {
            spec.sets = sets.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard !spec.sets.isEmpty, spec.sets.allSatisfy({ !$0.isEmpty && !$0.contains("/") }) else { throw CLIError("--sets must name folders under <shared>/data, e.g. Set5,Set14; got '\(sets)'") }
        }
        if let seed { spec.seed = seed }
        guard rotate != .learned else { throw CLIError("--rotate learned: the tables' rows are not refined with learned rotations; use none, hadamard or random") }
        spec.rotation = rotate.kind
        func list(_ s: String) -> [String] { s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        if let methods {
            let names = list(methods)
            guard !names.isEmpty else { throw CLIError("--methods must name at least one method (\(MethodRegistry.names.joined(separator: ", ")))") }
            do { for n in names { _ = try MethodRegistry.named(n) } } catch let e as QuantError { throw CLIError("--methods: " + e.description) }
            spec.table1Methods = names
        }
        if let refineMethods {
            let names = list(refineMethods)
            for n in names where !spec.table1Methods.contains(n) {
                throw CLIError("--refine-methods: '\(n)' is not a Table-1 method (use some of \(spec.table1Methods.joined(separator: ", ")))")
            }
            for n in names where (try? MethodRegistry.named(n).kind) == .outputLevel {
                throw CLIError("--refine-methods: '\(n)' is output-level already (DQC); refine a per-layer method")
            }
            spec.refineMethods = names
        }
        if let refineModes {
            guard spec.refineMethods != nil else { throw CLIError("--refine-modes needs --refine-methods") }
            let modes = list(refineModes)
            for m in modes { do { _ = try RefinementStages.defaults(mode: m) } catch let e as QuantError { throw CLIError("--refine-modes: " + e.description) } }
            guard !modes.isEmpty else { throw CLIError("--refine-modes must name at least one of block, model, block+model") }
            spec.refineModes = modes
        }
        if table2Refine {
            guard spec.tables.contains("2") else { throw CLIError("--table2-refine needs Table 2 in the run (--only 2)") }
            spec.table2Refine = true
        }
        if let dqcIterations {
            guard dqcIterations >= 0 else { throw CLIError("--dqc-iterations must be ≥ 0, got \(dqcIterations)") }
            guard spec.table1Methods.contains("2dquant") else { throw CLIError("--dqc-iterations needs 2dquant among --methods") }
            spec.dqcIterations = dqcIterations
        }
        if let rotatedMethods {
            let names = list(rotatedMethods)
            guard !names.isEmpty else { throw CLIError("--rotated-methods must name at least one Table-1 method") }
            for n in names where !spec.table1Methods.contains(n) {
                throw CLIError("--rotated-methods: '\(n)' is not a Table-1 method (use some of \(spec.table1Methods.joined(separator: ", ")))")
            }
            guard rotatedKind == .hadamard || rotatedKind == .random else {
                throw CLIError("--rotated-kind must be hadamard or random, got '\(rotatedKind.rawValue)'")
            }
            guard spec.rotation == nil else { throw CLIError("--rotated-methods adds rotated rows to an unrotated run; drop --rotate") }
            spec.rotatedMethods = names
            spec.rotatedKind = rotatedKind.kind
        }
        if let limit { guard limit >= 1 else { throw CLIError("--limit must be ≥ 1") }; spec.imageLimit = limit }
        let command = "harmoq tables" + CommandLine.arguments.dropFirst(2).filter { $0 != "--resume" }.map { " " + $0 }.joined()
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let partial = out + ".partial.json"
        var done: [PaperTables.Cell] = []
        // Whether every cell's peak was measured after returning freed heap: false once a kept or reused cell comes from a
        // file written before that (`Document.peakAfterTrim`).
        var peakAfterTrim = true
        if resume {
            let doc = try readDocument(partial, "--resume: cannot read the checkpoint of an interrupted run")
            guard doc.spec == spec else {
                throw CLIError("--resume: '\(partial)' was written by `\(doc.command)`, whose settings differ from this command's; rerun that command with --resume, or delete the checkpoint")
            }
            done = doc.cells
            if !doc.cells.isEmpty { peakAfterTrim = peakAfterTrim && doc.peakAfterTrim == true }
            CalibrationCLI.stderr("harmoq tables: resuming from \(partial) (\(done.count) cells kept)")
        }
        for path in reuse {
            let doc = try readDocument(path, "--reuse: cannot read the tables JSON")
            let d = PaperTables.differences(doc.spec, spec)
            guard d.isEmpty else { throw CLIError("--reuse: '\(path)' (`\(doc.command)`) was made with other settings: \(d.joined(separator: "; "))") }
            let new = doc.cells.filter { c in !done.contains { $0.table == c.table && $0.row == c.row && $0.bits == c.bits && $0.scale == c.scale && $0.set == c.set } }
            done += new
            if !new.isEmpty { peakAfterTrim = peakAfterTrim && doc.peakAfterTrim == true }
            CalibrationCLI.stderr("harmoq tables: \(new.count) cells of \(path) can be reused")
        }
        let cells = try PaperTables.run(spec: spec, shared: shared, done: done, onCell: { cells in
            try AtomicFile.write(try enc.encode(Doc(command: command, spec: spec, cells: cells, peakAfterTrim: peakAfterTrim)), to: partial)
        }) { CalibrationCLI.stderr($0) }
        let md = PaperTables.markdown(cells, spec: spec, command: command, peakAfterTrim: peakAfterTrim)
        try AtomicFile.write(md, to: out + ".md")
        try AtomicFile.write(try enc.encode(Doc(command: command, spec: spec, cells: cells, peakAfterTrim: peakAfterTrim)), to: out + ".json")
        try? FileManager.default.removeItem(atPath: partial)
        CalibrationCLI.stderr("wrote \(out).md and \(out).json (\(cells.count) cells)")
        if let svg { try ChartFiles.write(PaperCharts.psnrVsBits(cells) + PaperCharts.o1Asymmetry(cells), to: svg) }
        print(md)
    }
}

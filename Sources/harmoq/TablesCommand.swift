import ArgumentParser
import Foundation
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

    @Option(help: "Comma-separated Table-1 methods that also get a row '<method> + block refinement': the same plan after block reconstruction with `harmoq refine`'s defaults on the same patches (docs/refinement.md).")
    var refineMethods: String?

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
            let doc: Doc
            do { doc = try JSONDecoder().decode(Doc.self, from: Data(contentsOf: URL(fileURLWithPath: render))) }
            catch { throw CLIError("--render: cannot read tables JSON '\(render)': \(error)") }
            let md = PaperTables.markdown(doc.cells, spec: doc.spec, command: doc.command)
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
        spec.rotation = rotate.kind
        if let refineMethods {
            let names = refineMethods.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            for n in names where !spec.table1Methods.contains(n) {
                throw CLIError("--refine-methods: '\(n)' is not a Table-1 method (use some of \(spec.table1Methods.joined(separator: ", ")))")
            }
            spec.refineMethods = names
        }
        if let limit { guard limit >= 1 else { throw CLIError("--limit must be ≥ 1") }; spec.imageLimit = limit }
        let command = "harmoq tables" + CommandLine.arguments.dropFirst(2).map { " " + $0 }.joined()
        let cells = try PaperTables.run(spec: spec, shared: shared) { CalibrationCLI.stderr($0) }
        let md = PaperTables.markdown(cells, spec: spec, command: command)
        try AtomicFile.write(md, to: out + ".md")
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try enc.encode(Doc(command: command, spec: spec, cells: cells)), to: out + ".json")
        CalibrationCLI.stderr("wrote \(out).md and \(out).json (\(cells.count) cells)")
        if let svg { try ChartFiles.write(PaperCharts.psnrVsBits(cells) + PaperCharts.o1Asymmetry(cells), to: svg) }
        print(md)
    }
}

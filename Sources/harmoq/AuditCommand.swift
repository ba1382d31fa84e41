import ArgumentParser
import Foundation
import HarmoQChecks
import HarmoQReport

/// `harmoq audit --model FILE --quant QPARAMS --out report.html`: one self-contained HTML report (+ Markdown beside it).
struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Audit a quantized model: one self-contained HTML report (inline SVG/PNG, no network) plus Markdown beside it.",
        discussion: """
        Sections (element ids): manifest, sqnr, sensitivity, bounds, convergence, certificates, verdicts, images, crops, onnx; \
        see docs/audit.md. Sensitivity and activation SQNR run the model on fixed 64×64 LR patches drawn from --patch-sources \
        (never a test set); images and crops evaluate FP and quantized on --set. Example:
          harmoq audit --model ../shared/models/dat-light-x2.safetensors --quant dat-x2-w4a4.qparams --out audit.html
        """)

    @OptionGroup var modelOption: ModelOptions
    var model: String { modelOption.model }

    @OptionGroup var planOption: PlanOptions
    var quant: String { planOption.quant }

    @Option(help: "Output HTML path; the Markdown is written beside it with extension .md.")
    var out: String

    @Option(help: "Benchmark folder for per-image PSNR/SSIM and crops (default: <shared>/data/Set5, else Data/Set5); 'none' skips them.")
    var set: String?

    @Option(help: "Evaluate only the first N images of --set.")
    var limit: Int?

    @Option(help: "Folder of ../shared (default set and patch sources).")
    var shared: String = "../shared"

    @Option(help: "Comma-separated folders the fixed LR patches are drawn from (default: <shared>/data/DIV2K-calib, else .cache/calib-images). Benchmark sets are refused.")
    var patchSources: String?

    @Option(help: "Number of fixed 64×64 LR patches for SQNR and sensitivity (1 or 2).")
    var patches: Int = 1

    @Option(help: "Seed for drawing the patches.")
    var patchSeed: UInt64 = 0

    @Flag(help: "Skip the per-site sensitivity (one forward per site and side).")
    var noSensitivity = false

    @Option(help: "Verdict source: 'golden' (Golden/checker-results.json, recorded results), 'run' (run the CI-size checkers now, about a minute or more), or a path to a golden checker-results file or a `harmoq verify --json` report.")
    var verdicts: String = "golden"

    @Option(help: "Optional JSON from the ONNX QDQ check: {\"onnxruntime\": \"1.x\", \"sites\": [{\"site\", \"elements\", \"maxAbsDiff\", \"tieMismatches\", \"otherMismatches\"}]}.")
    var onnxReport: String?

    @OptionGroup var binding: ModelBindingOptions

    func run() throws {
        let fm = FileManager.default
        for (flag, path) in [("--model", model), ("--quant", quant)] where !fm.fileExists(atPath: path) {
            throw CLIError("harmoq audit: \(flag) '\(path)' does not exist")
        }
        guard (1...2).contains(patches) else { throw CLIError("harmoq audit: --patches must be 1 or 2, got \(patches)") }
        if let limit, limit < 1 { throw CLIError("harmoq audit: --limit must be ≥ 1") }
        let setDir: String?
        switch set {
        case "none": setDir = nil
        case let s?: guard fm.fileExists(atPath: s + "/HR") else { throw CLIError("harmoq audit: --set '\(s)' has no HR/ folder") }; setDir = s
        case nil:
            guard let d = [shared + "/data/Set5", "Data/Set5"].first(where: { fm.fileExists(atPath: $0 + "/HR") }) else {
                throw CLIError("harmoq audit: no default benchmark set (\(shared)/data/Set5 or Data/Set5); pass --set DIR or --set none")
            }
            setDir = d
        }
        let sources: [String]
        if let p = patchSources { sources = p.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        else if let d = [shared + "/data/DIV2K-calib", ".cache/calib-images"].first(where: { fm.fileExists(atPath: $0) }) { sources = [d] }
        else { throw CLIError("harmoq audit: no patch source (\(shared)/data/DIV2K-calib or .cache/calib-images from ci/fetch-demo-images.sh); pass --patch-sources DIR") }

        let verdictTable: VerdictTable
        do {
            switch verdicts {
            case "golden":
                let path = "Golden/checker-results.json"
                guard fm.fileExists(atPath: path) else { throw CLIError("harmoq audit: --verdicts golden needs \(path) (run from the repository root) or pass --verdicts run|PATH") }
                verdictTable = try VerdictTable.read(path: path)
            case "run":
                CalibrationCLI.stderr("audit: running the CI-size checkers for the verdict table")
                let report = CheckReport(size: .ci, seed: 0x2A, runs: CheckRegistry.run(CheckRegistry.claimIDs, size: .ci, seed: 0x2A))
                verdictTable = try VerdictTable.parse(try report.json(), source: "`harmoq verify all --size ci --seed 0x2A`, run by this audit")
            default:
                verdictTable = try VerdictTable.read(path: verdicts)
            }
        } catch let e as ReportError { throw CLIError("harmoq audit: \(e.description)") }
        var onnx: ONNXMismatchReport?
        if let onnxReport {
            do { onnx = try ONNXMismatchReport.read(path: onnxReport) } catch let e as ReportError { throw CLIError("harmoq audit: \(e.description)") }
        }
        var o = AuditBuilder.Options(modelPath: model, qparamsPath: quant, setDir: setDir, patchSources: sources, verdicts: verdictTable,
                                     onnx: onnx, command: "harmoq audit" + CommandLine.arguments.dropFirst(2).map { " " + $0 }.joined(),
                                     toolVersion: HarmoqVersion.string)
        o.onnxSource = onnxReport
        o.imageLimit = limit; o.patchCount = patches; o.patchSeed = patchSeed; o.sensitivity = !noSensitivity
        o.allowModelMismatch = binding.allowModelMismatch
        let t0 = Date()
        do {
            let report = try AuditBuilder.build(o) { CalibrationCLI.stderr($0) }
            let md = try AuditBuilder.write(report, html: out)
            CalibrationCLI.stderr(String(format: "wrote %@ and %@ (%.1f s)", out, md, Date().timeIntervalSince(t0)))
        } catch let e as CLIError { throw e } catch { throw CLIError("harmoq audit: \(error)") }
    }
}

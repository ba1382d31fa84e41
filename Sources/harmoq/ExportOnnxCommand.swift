import ArgumentParser
import Foundation
import ONNXExport

/// `harmoq export-onnx --model FILE --quant QPARAMS --out DIR [--sites N|all]`
struct ExportOnnx: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-onnx",
        abstract: "Export every quantized Linear site as an ONNX QDQ graph (opset 13) with captured inputs and our fake-quant outputs.",
        discussion: """
        Per site: x → (Div by the HSO scale) → QuantizeLinear → Clip to the b-bit code range → DequantizeLinear, the \
        weight as int8 codes with a per-channel DequantizeLinear, MatMul (+ bias Add); outputs y and x_codes. An \
        affine activation grid is written exactly as Clip(α, β) → Sub α → uint8 QDQ → Add α (its zero point −α/Δ is \
        not an integer). The inputs \
        are captured from the quantized model on fixed LR calibration patches (never a test set); DIR/index.json lists \
        every file (raw little-endian float32 / int8) and every site that cannot be written exactly as QDQ, with the \
        reason. ci/onnx-check.sh runs the graphs in onnxruntime. See docs/onnx.md. Example:
          harmoq export-onnx --model ../shared/models/dat-light-x2.safetensors --quant dat-x2-w4a4.qparams --out out/onnx
        """)

    @Option(help: "Model weights (.safetensors or .pth): DAT-light or SwinIR-light.")
    var model: String

    @Option(help: "QPARAMS written by `harmoq calibrate` (with its .json sidecar).")
    var quant: String

    @Option(help: "Output folder (created).")
    var out: String

    @Option(help: "How many quantized Linear sites to export, in execution order: a number or 'all'.")
    var sites: String = "all"

    @Option(help: "LR 64×64 patches to capture activations on (drawn from the calibration sources).")
    var patches: Int = 1

    @Option(help: "Seed for drawing the capture patches.")
    var seed: UInt64 = 1

    @Option(help: "Rows (tokens) kept per site, evenly spaced over the captured rows; 0 keeps all.")
    var rows: Int = 1024

    @OptionGroup var data: CalibrationSourceOptions

    @OptionGroup var binding: ModelBindingOptions

    func run() throws {
        let limit: Int?
        if sites == "all" { limit = nil } else {
            guard let n = Int(sites), n >= 1 else { throw CLIError("--sites must be a positive number or 'all', got '\(sites)'") }
            limit = n
        }
        guard patches >= 1 else { throw CLIError("--patches must be at least 1, got \(patches)") }
        guard rows >= 0 else { throw CLIError("--rows must be ≥ 0 (0 keeps all), got \(rows)") }
        let srcs = try data.resolve(command: "export-onnx")
        var req = SiteExport.Request(modelPath: model, quantPath: quant, outDir: out, siteLimit: limit, sources: srcs,
                                     toolVersion: HarmoqVersion.string)
        req.patchCount = patches
        req.patchSeed = seed
        req.rowsPerSite = rows
        req.allowModelMismatch = binding.allowModelMismatch
        let index: SiteExport.Index
        do {
            index = try SiteExport.run(req) { CalibrationCLI.stderr($0) }
        } catch { throw CLIError("harmoq export-onnx: \(error)") }
        let done = index.sites.filter(\.exported).count
        print("exported \(done) of \(index.sites.count) quantized Linear sites to \(out) (index.json); \(index.sites.count - done) not exportable")
    }
}

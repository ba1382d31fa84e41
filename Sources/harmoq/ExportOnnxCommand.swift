import ArgumentParser
import Foundation
import ONNXExport

/// `harmoq export-onnx --model FILE --quant QPARAMS --out DIR [--sites N|all]`
/// `harmoq export-onnx --whole-model --model FILE [--quant QPARAMS] --out DIR (--size HxW … | --check-set DIR)`
struct ExportOnnx: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-onnx",
        abstract: "Export every quantized Linear site as an ONNX QDQ graph (opset 13) with captured inputs and our fake-quant outputs; or, with --whole-model, the whole DAT-light or SwinIR-light model (FP32 or QDQ) as one graph per LR size.",
        discussion: """
        Per site: x → (MatMul by R, the plan's online rotation, when the site has one) → (Div by the HSO scale) → QuantizeLinear → Clip to the b-bit code range → DequantizeLinear, the \
        weight as int8 codes with a per-channel DequantizeLinear, MatMul (+ bias Add); outputs y and x_codes. An \
        affine activation grid is written exactly as Clip(α, β) → Sub α → uint8 QDQ → Add α (its zero point −α/Δ is \
        not an integer). The inputs \
        are captured from the quantized model on fixed LR calibration patches (never a test set); DIR/index.json lists \
        every file (raw little-endian float32 / int8) and every site that cannot be written exactly as QDQ, with the \
        reason. ci/onnx-check.sh runs the graphs in onnxruntime. See docs/onnx.md. Example:
          harmoq export-onnx --model ../shared/models/dat-light-x2.safetensors --quant dat-x2-w4a4.qparams --out out/onnx

        --whole-model: the whole DAT-light or SwinIR-light forward, op by op as the engine runs it, as one ONNX graph \
        (opset 17) per LR size (shapes are static: the window padding — SwinIR: reflect padding of the input to a \
        multiple of 8, output cropped back —, shift masks and window gathers are sized at export). FP32 without \
        --quant; with --quant, standard QuantizeLinear/DequantizeLinear around every quantized site of the plan (weights \
        int8 per output channel, activations per tensor — symmetric with zero point 0, affine with its integer zero \
        point as uint8 — matmul operands q/k/v/probs included, HSO input scales as a Div before the QuantizeLinear). \
        A rotated plan's online rotations are a float MatMul by R before the QuantizeLinear (the stored weight is \
        already W·R). Float zero points (`--zero-point float`, DOBI's default) are refused, naming the sites. With \
        --check-set, every image of the set gets a graph for its size plus its LR input, harmoq's output (FP32, or the \
        fake quantization `harmoq eval --quant` computes) and the HR, for ci/onnx-model-check.py. Examples:
          harmoq export-onnx --whole-model --model M --out out/onnx-fp --size 64x64
          harmoq export-onnx --whole-model --model M --quant q.qparams --out out/onnx-q --check-set ../shared/data/Set5
        """)

    @OptionGroup var modelOption: ModelOptions
    var model: String { modelOption.model }

    @Option(help: "QPARAMS written by `harmoq calibrate` (with its .json sidecar). Required for the per-site export; with --whole-model optional (absent: FP32 graph).")
    var quant: String?

    @Flag(help: "Export the whole model (DAT-light or SwinIR-light) as one ONNX graph per LR size (FP32, or QDQ of --quant) instead of one graph per Linear site.")
    var wholeModel = false

    @Option(help: "With --whole-model: an LR input size HxW (height x width) to export a graph for (repeatable).")
    var size: [String] = []

    @Option(help: "With --whole-model: a benchmark folder (HR/ + LR_bicubic/X<s>/, e.g. ../shared/data/Set5): a graph per image size, plus each image's LR input, harmoq's output and the HR for ci/onnx-model-check.py.")
    var checkSet: String?

    @Option(help: "With --check-set: only the first N images (by file name).")
    var limit: Int?

    @Flag(help: "With --check-set: also write harmoq's per-block outputs of the first image (<name>.stage.<stage>.f32, tokens L×60; index.json names the ONNX value of each: DAT-light layers.0.blocks.N.ffn_residual / ….attn.proj, SwinIR-light layers.I.residual_group.blocks.J.mlp_residual / layers.I.residual) for locating a difference (ci/onnx-model-check.py --stages).")
    var stages = false

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
        if wholeModel { return try runWholeModel() }
        guard let quant else { throw CLIError("harmoq export-onnx: --quant is required (without --whole-model)") }
        guard size.isEmpty, checkSet == nil, self.limit == nil else {
            throw CLIError("harmoq export-onnx: --size, --check-set and --limit apply to --whole-model only")
        }
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

    func runWholeModel() throws {
        var req = WholeModelExport.Request(modelPath: model, quantPath: quant, outDir: out, toolVersion: HarmoqVersion.string)
        for s in size {
            let parts = s.lowercased().split(separator: "x").map { Int($0) }
            guard parts.count == 2, let h = parts[0], let w = parts[1], h >= 1, w >= 1 else {
                throw CLIError("--size must be HxW with positive integers (e.g. 64x64), got '\(s)'")
            }
            req.sizes.append((h, w))
        }
        if let l = limit, l < 1 { throw CLIError("--limit must be at least 1, got \(l)") }
        req.checkSet = checkSet
        req.limit = limit
        req.stages = stages
        req.allowModelMismatch = binding.allowModelMismatch
        let index: WholeModelExport.Index
        do {
            index = try WholeModelExport.run(req) { CalibrationCLI.stderr($0) }
        } catch { throw CLIError("harmoq export-onnx --whole-model: \(error)") }
        print("exported \(index.graphs.count) whole-model graph(s) (\(index.quant == nil ? "FP32" : "QDQ " + (index.bits ?? ""))) "
              + "and \(index.images.count) reference image(s) to \(out) (index.json)")
    }
}

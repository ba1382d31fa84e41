import ArgumentParser
import Foundation
import SREngine
import SRIO
import SRCalibration
import SRInteger

/// `harmoq eval --model FILE [--quant QPARAMS [--int]] --set DIR --scale S [--json PATH] [--limit N]`
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a model on a benchmark set: per-image and mean PSNR/SSIM on Y (official SwinIR/BasicSR protocol).",
        discussion: "LR images come from DIR/LR_bicubic/X<S>/<name>x<S>.png, or are made from DIR/HR with MATLAB bicubic when absent. "
            + "HR is cropped to LR size × S; metrics use border S. Progress goes to stderr when stderr is a terminal.")

    @OptionGroup var modelOption: ModelOptions
    var model: String { modelOption.model }

    @Option(help: "Benchmark folder holding HR/ and optionally LR_bicubic/X<S>/, e.g. ../shared/data/Set5.")
    var set: String

    @Option(help: "Upscaling factor S (2, 3 or 4); must equal the model's scale.")
    var scale: Int

    @Option(help: "Also write the report (per-image values, means, timings, protocol) as JSON to this path, atomically.")
    var json: String?

    @Option(help: "Evaluate only the first N images (by file name).")
    var limit: Int?

    @Option(help: "Quantization parameters written by `harmoq calibrate` (.qparams safetensors with its .json sidecar): evaluate the fake-quantized model instead of FP.")
    var quant: String?

    @Flag(name: .customLong("int"), help: "With --quant: evaluate integer execution (every weight- and activation-quantized Linear site as an int8 GEMM, and q·kᵀ and P·V as int8 GEMMs where both operand sites are quantized on centred grids, as `harmoq infer --int --quant`) and, beside it, the fake quantization of the same plan; prints per image the integer PSNR/SSIM and the integer − fake difference (PSNR, max |Δ| of the outputs, differing outputs and 8-bit values). Two forwards per image. --json then writes {plan, integer, fakeQuant, images}.")
    var integer = false

    @OptionGroup var binding: ModelBindingOptions

    func run() throws {
        var net: any SRModel, identity: ModelIdentity
        do { (net, identity) = try ModelIdentity.load(path: model) } catch { throw CLIError("harmoq eval: \(error)") }
        guard net.scale == scale else {
            throw CLIError("harmoq eval: --scale \(scale) does not match the model's scale \(net.scale) (\(model))")
        }
        if integer {
            guard let quant else { throw CLIError("harmoq eval: --int needs --quant QPARAMS (the plan to run in integers)") }
            return try runInteger(net: net, identity: identity, quant: quant)
        }
        if let quant {
            do {
                let q = try binding.read(quant, for: identity, command: "eval")
                // 2DQuant plans quantize q, k and v separately (qkv_separation): build the model with split qkv sites.
                if q.sites.contains(where: { $0.name.hasSuffix(".attn.qkv.q") }) {
                    (net, identity) = try ModelIdentity.load(path: model, options: .init(splitQKV: true))
                }
                try QuantizedModel.apply(q, to: net)
                FileHandle.standardError.write(Data("harmoq eval: \(q.method) W\(q.weightBits)A\(q.activationBits), \(q.sites.count) sites from \(quant)\n".utf8))
            } catch { throw CLIError("harmoq eval: --quant \(quant): \(error)") }
        }
        let report: EvalReport
        do {
            let bench = try BenchmarkSet.load(dir: set, scale: scale)
            let showProgress = isatty(STDERR_FILENO) == 1
            report = try SREvaluation.run(set: bench, scale: scale, limit: limit,
                                          upscale: { try net.forward($0) },
                                          progress: showProgress ? { FileHandle.standardError.write(Data(($0 + "\n").utf8)) } : nil)
        } catch let e as IOError {
            throw CLIError("harmoq eval: \(e.message)")
        } catch {
            throw CLIError("harmoq eval: \(error)")
        }
        print(report.text())
        if let path = json {
            do { try AtomicFile.write(try report.jsonData(), to: path) } catch { throw CLIError("harmoq eval: cannot write \(path): \(error)") }
        }
    }

    /// `--int`: the plan's fake quantization over the set, then its integer execution, then the per-image comparison.
    func runInteger(net fake: any SRModel, identity: ModelIdentity, quant: String) throws {
        let setup: IntegerSetup
        let net: any SRModel
        do {
            setup = try binding.integerSetup(model: fake, bits: nil, quant: quant, calibration: [], identity: identity, command: "eval")
            (net, _) = try ModelIdentity.load(path: model)
            try setup.installFake(on: fake)
            try setup.installInteger(on: net)
        } catch let e as CLIError { throw e } catch { throw CLIError("harmoq eval: --quant \(quant): \(error)") }
        FileHandle.standardError.write(Data("harmoq eval --int: \(setup.label)\n".utf8))
        let result: IntegerEvaluation
        do {
            let bench = try BenchmarkSet.load(dir: set, scale: scale)
            let showProgress = isatty(STDERR_FILENO) == 1
            let progress: ((String) -> Void)? = showProgress ? { FileHandle.standardError.write(Data(($0 + "\n").utf8)) } : nil
            result = try IntegerEvaluation.run(set: bench, scale: scale, limit: limit, plan: setup.label, fake: fake, integer: net,
                                               progress: progress)
        } catch let e as IOError {
            throw CLIError("harmoq eval: \(e.message)")
        } catch {
            throw CLIError("harmoq eval: \(error)")
        }
        print(result.integer.text())
        print(result.text())
        // Which path each attention matmul took in integer execution (exact int8 GEMM, or float with the reason).
        print(net.operandExecutor?.text() ?? "attention matmuls: none run in integers (no operand pair of the plan is quantized on centred grids)")
        if let path = json {
            do {
                let enc = JSONEncoder()
                enc.outputFormatting = [.prettyPrinted, .sortedKeys]
                enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
                try AtomicFile.write(try enc.encode(result), to: path)
            } catch { throw CLIError("harmoq eval: cannot write \(path): \(error)") }
        }
    }
}

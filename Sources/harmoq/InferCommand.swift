import ArgumentParser
import Foundation
import HarmoQ
import SRCalibration
import SREngine
import SRInteger
import SRIO

/// `harmoq infer --model FILE --input LR.png --output SR.png [--int --bits w8a8|w4a4 [--quant QPARAMS] [--calib IMG]…] [--hr HR.png]`
struct Infer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Super-resolve one image with a model (whole image, one forward; Float32, or integer Linear sites with --int).",
        discussion: "The output is clamped to [0, 1], multiplied by 255 and rounded half to even, as the official scripts do. "
            + "With --int every Linear site runs as int8×int8→int32 GEMM on packed symmetric per-channel weight codes with "
            + "per-tensor activation codes (symmetric, or affine with an integer zero point folded into the epilogue; docs/integer.md); other operations stay Float32.")

    @OptionGroup var modelOption: ModelOptions
    var model: String { modelOption.model }

    @Option(help: "Low-resolution input image (PNG, or BMP).")
    var input: String

    @Option(help: "Where to write the super-resolved PNG (written atomically).")
    var output: String

    @Flag(name: .customLong("int"), help: "Integer execution of every Linear site (the engine's LinearExecutor = SRInteger's IntegerModelPlan).")
    var integer = false

    @Option(help: "With --int: w8a8 or w4a4 (symmetric per-output-channel weight codes, per-tensor activation codes, MinMax/AbsMax bounds). Default w8a8. With --quant the bits come from the file (a different --bits is an error).")
    var bits: String?

    @Option(help: "With --int: QPARAMS file written by `harmoq calibrate` (with its .json sidecar). Its corrected weights, per-channel weight bounds and activation bounds define the integer sites; its hook stays installed (HSO input scales, matmul-operand sites in fake quantization) and runs before each integer site. Needs symmetric or integer-zero-point grids (HarmoQ corrected's default; affine baselines with --zero-point integer).")
    var quant: String?

    @Option(help: "With --int and no --quant: an image to calibrate the MinMax activation bounds on (repeatable). Default: the input image.")
    var calib: [String] = []

    @Option(help: "High-resolution ground truth: print PSNR-Y (border = scale) of the output; with --int also of the fake-quant simulation of the same plan (one more forward).")
    var hr: String?

    @OptionGroup var binding: ModelBindingOptions

    func run() throws {
        EngineAllocator.preferHeapReuse()
        let net: any SRModel, identity: ModelIdentity
        do { (net, identity) = try ModelIdentity.load(path: model) } catch { throw CLIError("harmoq infer: \(error)") }
        let lr: RGBImage
        do { lr = try RGBImage.read(path: input) } catch { throw CLIError("harmoq infer: cannot read \(input): \(error)") }
        let hrImage: RGBImage?
        do { hrImage = try hr.map { try RGBImage.read(path: $0) } } catch { throw CLIError("harmoq infer: cannot read \(hr ?? ""): \(error)") }
        if !integer, bits != nil || quant != nil || !calib.isEmpty {
            throw CLIError("harmoq infer: --bits, --quant and --calib need --int")
        }
        var setup: IntegerSetup?
        if integer {
            do {
                let calibImages = try (calib.isEmpty ? [lr] : calib.map { try RGBImage.read(path: $0) }).map { $0.toTensor() }
                setup = try binding.integerSetup(model: net, bits: bits, quant: quant, calibration: calibImages, identity: identity, command: "infer")
            } catch { throw CLIError("harmoq infer: \(error)") }
            FileHandle.standardError.write(Data("harmoq infer: integer execution, \(setup!.label)\n".utf8))
        }
        FileHandle.standardError.write(Data("harmoq infer: \(net.architecture.rawValue) x\(net.scale) on \(lr.width)x\(lr.height)…\n".utf8))
        do { try setup?.installInteger(on: net) } catch { throw CLIError("harmoq infer: \(error)") }
        let t0 = Date()
        let sr: RGBImage
        do { sr = try RGBImage(tensor: try net.forward(lr.toTensor())) } catch { throw CLIError("harmoq infer: \(error)") }
        let seconds = Date().timeIntervalSince(t0)
        setup?.remove(from: net)
        do { try PNGCodec.write(sr, path: output) } catch { throw CLIError("harmoq infer: cannot write \(output): \(error)") }
        FileHandle.standardError.write(Data(("harmoq infer: wrote \(output) (\(sr.width)x\(sr.height)) in "
                                             + String(format: "%.2f s\n", seconds)).utf8))
        if let hrImage {
            do {
                let p = try PSNR.y(sr, hrImage, border: net.scale)
                print(String(format: "PSNR-Y (border %d): %.4f dB", net.scale, p) + (setup == nil ? " (FP32)" : " (integer, \(setup!.label))"))
                if let setup {
                    try setup.installFake(on: net)
                    let fake = try RGBImage(tensor: try net.forward(lr.toTensor()))
                    setup.remove(from: net)
                    let pf = try PSNR.y(fake, hrImage, border: net.scale)
                    print(String(format: "PSNR-Y fake-quant simulation of the same plan: %.4f dB (integer − fake: %+.5f dB)", pf, p - pf))
                }
            } catch { throw CLIError("harmoq infer: --hr: \(error)") }
        }
    }
}

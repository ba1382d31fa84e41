import ArgumentParser
import Foundation
import SREngine
import SRIO

/// `harmoq infer --model FILE --input LR.png --output SR.png`
struct Infer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Super-resolve one image with a model (whole image, one forward, Float32).",
        discussion: "The output is clamped to [0, 1], multiplied by 255 and rounded half to even, as the official scripts do.")

    @Option(help: "Model weights: .safetensors or PyTorch .pth (DAT-light or SwinIR-light; architecture and scale read from the keys).")
    var model: String

    @Option(help: "Low-resolution input image (PNG, or BMP).")
    var input: String

    @Option(help: "Where to write the super-resolved PNG (written atomically).")
    var output: String

    func run() throws {
        EngineAllocator.preferHeapReuse()
        let net: any SRModel
        do { net = try ModelLoader.load(path: model) } catch { throw CLIError("harmoq infer: \(error)") }
        let lr: RGBImage
        do { lr = try RGBImage.read(path: input) } catch { throw CLIError("harmoq infer: cannot read \(input): \(error)") }
        FileHandle.standardError.write(Data("harmoq infer: \(net.architecture.rawValue) x\(net.scale) on \(lr.width)x\(lr.height)…\n".utf8))
        let t0 = Date()
        let sr: RGBImage
        do { sr = try RGBImage(tensor: try net.forward(lr.toTensor())) } catch { throw CLIError("harmoq infer: \(error)") }
        do { try PNGCodec.write(sr, path: output) } catch { throw CLIError("harmoq infer: cannot write \(output): \(error)") }
        FileHandle.standardError.write(Data(("harmoq infer: wrote \(output) (\(sr.width)x\(sr.height)) in "
                                             + String(format: "%.2f s\n", Date().timeIntervalSince(t0))).utf8))
    }
}

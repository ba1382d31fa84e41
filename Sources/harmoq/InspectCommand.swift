import ArgumentParser
import Foundation
import SREngine
import SRIO

/// `harmoq inspect --model FILE [--json PATH]`
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List a model's quantization sites (name, kind, shapes, parameters, default) in execution order.",
        discussion: "Sites are the inputs and weights of Linear layers and the activation operands of attention "
            + "matmuls (q after its scale, k, v, post-softmax probabilities). See docs/sites.md.")

    @OptionGroup var modelOption: ModelOptions
    var model: String { modelOption.model }

    @Option(help: "Also write the site manifest as JSON to this path (atomically).")
    var json: String?

    @Flag(help: "List each qkv Linear as three 60->60 sites ….attn.qkv.q/.k/.v (2DQuant's qkv_separation).")
    var splitQkv = false

    func run() throws {
        let net: any SRModel
        do { net = try ModelLoader.load(path: model, options: .init(splitQKV: splitQkv)) } catch { throw CLIError("harmoq inspect: \(error)") }
        let manifest = SiteManifest(model: net)
        print(manifest.text())
        if let path = json {
            do { try AtomicFile.write(try manifest.jsonData(), to: path) } catch {
                throw CLIError("harmoq inspect: cannot write \(path): \(error)")
            }
        }
    }
}

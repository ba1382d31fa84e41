import Foundation
import SRIO

/// Loads a model file, detects its architecture and scale from the keys and shapes, and builds it.
public enum ModelLoader {
    /// Choices that change the site list, not the FP forward.
    public struct Options: Sendable {
        /// Split every qkv Linear into three sites `….attn.qkv.q/.k/.v` (2DQuant's qkv_separation).
        public var splitQKV: Bool
        public init(splitQKV: Bool = false) { self.splitQKV = splitQKV }
    }

    /// `.safetensors` or PyTorch `.pth` (through SRIO's restricted unpickler).
    public static func load(path: String, options: Options = Options()) throws -> any SRModel {
        try build(weights: try readStateDict(path: path), source: path, options: options)
    }

    /// Reads a state dict by extension.
    public static func readStateDict(path: String) throws -> [String: Tensor] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw EngineError("model file not found: \(path)")
        }
        let ext = (path as NSString).pathExtension.lowercased()
        switch ext {
        case "safetensors":
            return try SafeTensors.read(path: path).tensors()
        case "pth", "pt":
            return try PTHStateDict.read(path: path)
        default:
            throw EngineError("unsupported model file extension '.\(ext)' for \(path) (use .safetensors or .pth)")
        }
    }

    /// Detects the architecture (DAT-light vs SwinIR-light) and scale and builds the model.
    public static func build(weights: [String: Tensor], source: String = "weights",
                             options: Options = Options()) throws -> any SRModel {
        let arch = try detectArchitecture(weights, source: source)
        let s = try detectScale(weights, source: source)
        try FiniteWeights.check(weights, source: source)
        switch arch {
        case .datLight: return try DATLight(weights: weights, scale: s, splitQKV: options.splitQKV)
        case .swinIRLight: return try SwinIRLight(weights: weights, scale: s, splitQKV: options.splitQKV)
        }
    }

    public static func detectArchitecture(_ w: [String: Tensor], source: String = "weights") throws -> Architecture {
        if w["before_RG.1.weight"] != nil { return .datLight }
        if w["patch_embed.norm.weight"] != nil || w.keys.contains(where: { $0.contains(".residual_group.") }) {
            return .swinIRLight
        }
        throw EngineError("\(source): cannot tell the architecture: neither 'before_RG.1.weight' (DAT-light) nor "
                          + "'patch_embed.norm.weight' (SwinIR-light) is present (\(w.count) keys)")
    }

    /// Scale s from `upsample.0.weight` of shape (3·s², C, 3, 3).
    public static func detectScale(_ w: [String: Tensor], source: String = "weights") throws -> Int {
        guard let up = w["upsample.0.weight"] else {
            throw EngineError("\(source): missing key 'upsample.0.weight' (needed to detect the scale; only the "
                              + "pixelshuffledirect upsampler is supported)")
        }
        for s in 2...4 where up.rank == 4 && up.shape[0] == 3 * s * s { return s }
        throw EngineError("\(source): 'upsample.0.weight' has shape \(up.shape); expected (3·s², C, 3, 3) with s in 2...4")
    }
}

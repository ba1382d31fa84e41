import Foundation
import SRIO

/// A model file whose Linear weights are packed integer codes (docs/integer.md, "File format").
///
/// safetensors entries, for each packed Linear `N` (its weight key was `N.weight`):
/// - `N.weight.qcodes`: dtype U8, shape [out, rowBytes], the `BitPacking` rows;
/// - `N.weight.qscale`: dtype F32, shape [out], Δw per output channel;
/// - metadata `harmoq.int.N` = "bits=<b>,in=<in>" (the packed shape cannot recover `in` for b < 8).
/// Every other tensor (convolutions, norms, biases, tables) stays F32 under its own key.
/// Metadata `harmoq.int.format` = "symmetric-packed-v1".
public struct PackedModelFile: Sendable {
    public static let formatTag = "symmetric-packed-v1"

    public var floatTensors: [String: Tensor]
    /// Packed weights by Linear name `N` (not `N.weight`).
    public var packed: [String: PackedLinearWeight]

    public init(floatTensors: [String: Tensor], packed: [String: PackedLinearWeight]) {
        self.floatTensors = floatTensors
        self.packed = packed
    }

    public func serialize() throws -> [UInt8] {
        var raw: [String: SafeTensors.Entry] = [:]
        var tensors = floatTensors
        var meta = ["harmoq.int.format": Self.formatTag]
        for (name, p) in packed {
            guard tensors[name + ".weight"] == nil else {
                throw IntegerError("packed model: '\(name).weight' is both packed and float")
            }
            raw[name + ".weight.qcodes"] = try Self.u8Entry(shape: [p.outFeatures, p.rowBytes], bytes: p.bytes)
            tensors[name + ".weight.qscale"] = Tensor(shape: [p.outFeatures], data: p.scales)
            meta["harmoq.int." + name] = "bits=\(p.bits),in=\(p.inFeatures)"
        }
        return try SafeTensors.serialize(tensors, raw: raw, metadata: meta)
    }

    /// A raw U8 entry. `SafeTensors.Entry`'s memberwise initialiser is internal to SRIO, so the entry is
    /// obtained by parsing a one-byte U8 safetensors image and then setting its public fields.
    static func u8Entry(shape: [Int], bytes: [UInt8]) throws -> SafeTensors.Entry {
        var header = Array(#"{"e":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#.utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var image: [UInt8] = (0..<8).map { UInt8((header.count >> (8 * $0)) & 0xff) }
        image += header + [0]
        guard var e = try SafeTensors.parse(image).entries["e"] else { throw IntegerError("cannot build a U8 entry") }
        e.shape = shape
        e.bytes = bytes
        return e
    }

    public func write(to path: String) throws {
        try AtomicFile.write(Data(try serialize()), to: path)
    }

    public static func parse(_ bytes: [UInt8]) throws -> PackedModelFile {
        let file = try SafeTensors.parse(bytes)
        guard file.metadata["harmoq.int.format"] == formatTag else {
            throw IntegerError("not a packed model file (metadata harmoq.int.format is \(file.metadata["harmoq.int.format"] ?? "missing"))")
        }
        var packed: [String: PackedLinearWeight] = [:]
        var consumed = Set<String>()
        for (key, value) in file.metadata where key.hasPrefix("harmoq.int.") && key != "harmoq.int.format" {
            let name = String(key.dropFirst("harmoq.int.".count))
            var fields: [String: Int] = [:]
            for part in value.split(separator: ",") {
                let kv = part.split(separator: "=")
                if kv.count == 2, let v = Int(kv[1]) { fields[String(kv[0])] = v }
            }
            guard let bits = fields["bits"], let inF = fields["in"] else {
                throw IntegerError("packed model: bad metadata '\(key)' = '\(value)'")
            }
            guard let codes = file.entries[name + ".weight.qcodes"], codes.dtype == "U8", codes.shape.count == 2 else {
                throw IntegerError("packed model: missing or non-U8 '\(name).weight.qcodes'")
            }
            let scale = try file.tensor(name + ".weight.qscale")
            packed[name] = try PackedLinearWeight(bits: bits, outFeatures: codes.shape[0], inFeatures: inF,
                                                  bytes: codes.bytes, scales: scale.data)
            consumed.insert(name + ".weight.qcodes")
            consumed.insert(name + ".weight.qscale")
        }
        var floats: [String: Tensor] = [:]
        for key in file.keys where !consumed.contains(key) { floats[key] = try file.tensor(key) }
        return PackedModelFile(floatTensors: floats, packed: packed)
    }

    public static func read(path: String) throws -> PackedModelFile {
        guard let data = FileManager.default.contents(atPath: path) else { throw IntegerError("cannot read '\(path)'") }
        return try parse([UInt8](data))
    }

    /// The state dict with every packed weight replaced by its dequantized Ŵ (what fake quantization runs).
    public func dequantizedStateDict() -> [String: Tensor] {
        var out = floatTensors
        for (name, p) in packed { out[name + ".weight"] = p.dequantized() }
        return out
    }

    /// Bytes of the tensors' data (no header): packed codes + scales + float tensors.
    public var dataBytes: Int {
        floatTensors.values.reduce(0) { $0 + 4 * $1.count } + packed.values.reduce(0) { $0 + $1.byteCount }
    }
}

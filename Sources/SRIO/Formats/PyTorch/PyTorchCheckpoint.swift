import Foundation

/// Reads PyTorch zip checkpoints (`torch.save`, format ≥ 1.6) directly: the zip is opened with
/// `ZipArchive`, `<archive>/data.pkl` is decoded with `RestrictedUnpickler` (nothing executed), and
/// each tensor is gathered from `<archive>/data/<key>` with its offset, size and stride.
///
/// - **State dict choice**: if the top-level dict has `params`, that is used (the BasicSR/SwinIR
///   convention; `stateKey` overrides), else `params_ema`, `state_dict`, `model`, else the top level.
/// - Keys lose a leading `module.` (DataParallel).
/// - Every dtype is converted to float32. int64 buffers (relative_position_index,
///   num_batches_tracked) are exact up to 2^24 in magnitude; larger integers are rounded to the
///   nearest float. Scalar tensors come back with shape [].
/// - Problems (not a zip, truncated, missing storage, malicious pickle, bad strides) are `IOError`s
///   naming the file and the key.
public enum PyTorchCheckpoint {
    public static func read(path: String, stateKey: String? = nil) throws -> [String: Tensor] {
        let bytes = try FileBytes.read(path)
        do { return try parse(bytes, stateKey: stateKey) } catch let e as IOError {
            throw IOError("\(path): \(e.message)")
        }
    }

    public static func parse(_ bytes: [UInt8], stateKey: String? = nil) throws -> [String: Tensor] {
        if bytes.count >= 2 && bytes[0] == 0x80 {
            throw IOError("pth: legacy (pre-1.6, non-zip) torch.save format is not supported; re-save with a current torch")
        }
        let zip = try ZipArchive(bytes: bytes)
        guard let pkl = zip.members.filter({ $0.name == "data.pkl" || $0.name.hasSuffix("/data.pkl") })
                .min(by: { $0.name.count < $1.name.count }) else {
            throw IOError("pth: no data.pkl in the zip archive (not a PyTorch checkpoint)")
        }
        let prefix = String(pkl.name.dropLast("data.pkl".count))
        if let bo = zip.member(named: prefix + "byteorder") {
            let order = String(decoding: try zip.contents(of: bo), as: UTF8.self)
            guard order == "little" else { throw IOError("pth: byte order '\(order)' is not supported (only little-endian)") }
        }
        let root = try RestrictedUnpickler.load(try zip.contents(of: pkl))
        guard case .dict(let top) = root else { throw IOError("pth: the pickled object is a \(root.kind), not a dict") }
        var state = top
        let candidates = stateKey.map { [$0] } ?? ["params", "params_ema", "state_dict", "model"]
        if let k = candidates.first(where: { top[$0] != nil }) {
            guard case .dict(let d) = top[k]! else { throw IOError("pth: '\(k)' is a \(top[k]!.kind), not a dict of tensors") }
            state = d
        } else if let k = stateKey {
            throw IOError("pth: no key '\(k)' at the top level (keys: \(top.keys.prefix(10).map(\.description)))")
        }
        var storages: [String: [UInt8]] = [:]
        var out: [String: Tensor] = [:]
        for k in state.keys {
            var name = k.description
            if name.hasPrefix("module.") { name.removeFirst("module.".count) }
            guard case .tensor(let t) = state.values[k]! else {
                throw IOError("pth: entry '\(name)' is a \(state.values[k]!.kind), not a tensor")
            }
            let memberName = prefix + "data/" + t.storage.key
            if storages[t.storage.key] == nil {
                guard let m = zip.member(named: memberName) else {
                    throw IOError("pth: storage '\(memberName)' used by '\(name)' is missing from the archive")
                }
                storages[t.storage.key] = try zip.contents(of: m)
            }
            out[name] = try gather(t, from: storages[t.storage.key]!, name: name)
        }
        return out
    }

    /// Materialises a strided view of a storage as a contiguous float32 tensor.
    static func gather(_ t: PickleTensorRef, from raw: [UInt8], name: String) throws -> Tensor {
        let type = t.storage.type
        let es = RestrictedUnpickler.storageElementSize[type]!
        let (need, o1) = t.storage.numel.multipliedReportingOverflow(by: es)
        guard !o1, raw.count >= need else {
            throw IOError("pth: storage of '\(name)' has \(raw.count) bytes, but \(type) × \(t.storage.numel) elements need more")
        }
        var count = 1
        var maxIndex = t.offset
        for (s, st) in zip(t.size, t.stride) {
            let (c, o) = count.multipliedReportingOverflow(by: s)
            guard !o else { throw IOError("pth: tensor '\(name)' size \(t.size) overflows") }
            count = c
            if s > 0 {
                let (reach, o2) = (s - 1).multipliedReportingOverflow(by: st)
                let (m, o3) = maxIndex.addingReportingOverflow(reach)
                guard !o2, !o3 else { throw IOError("pth: tensor '\(name)' stride \(t.stride) overflows") }
                maxIndex = m
            }
        }
        // Stride-0 (broadcast) views could declare far more elements than the file holds; allow at most 16× the storage.
        guard count <= 16 * max(1, t.storage.numel) else {
            throw IOError("pth: tensor '\(name)' size \(t.size) has \(count) elements, far more than its storage of \(t.storage.numel)")
        }
        guard count == 0 || maxIndex < t.storage.numel else {
            throw IOError("pth: tensor '\(name)' (offset \(t.offset), size \(t.size), stride \(t.stride)) reaches outside its storage of \(t.storage.numel) elements")
        }
        var data = [Float](repeating: 0, count: count)
        let rank = t.size.count
        raw.withUnsafeBytes { r in
            func load(_ i: Int) -> Float {
                switch type {
                case "FloatStorage": return Float(bitPattern: r.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian)
                case "DoubleStorage": return Float(Double(bitPattern: r.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self).littleEndian))
                case "HalfStorage": return Float(Float16(bitPattern: r.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian))
                case "BFloat16Storage": return Float(bitPattern: UInt32(r.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) << 16)
                case "LongStorage": return Float(Int64(littleEndian: r.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
                case "IntStorage": return Float(Int32(littleEndian: r.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
                case "ShortStorage": return Float(Int16(littleEndian: r.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
                case "CharStorage": return Float(r.load(fromByteOffset: i, as: Int8.self))
                default: return Float(r.load(fromByteOffset: i, as: UInt8.self))
                }
            }
            var idx = [Int](repeating: 0, count: rank)
            for n in 0..<count {
                var src = t.offset
                for d in 0..<rank { src += idx[d] * t.stride[d] }
                data[n] = load(src)
                var d = rank - 1
                while d >= 0 {
                    idx[d] += 1
                    if idx[d] < t.size[d] { break }
                    idx[d] = 0
                    d -= 1
                }
            }
        }
        return Tensor(shape: t.size, data: data)
    }
}

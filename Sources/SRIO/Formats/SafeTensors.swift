import Foundation

/// Reader and writer for the safetensors format (https://github.com/huggingface/safetensors):
/// `u64 little-endian header length N`, `N bytes of JSON header`, then the raw data buffer.
/// Each header entry is `{"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}` relative to
/// the data buffer; the optional `__metadata__` entry maps strings to strings.
///
/// Every structural problem (short file, header beyond the file, bad JSON, unknown dtype, byte count
/// that does not match the shape, offsets outside the buffer or overlapping) is an `IOError` naming
/// the file and the key; the reader never traps and never allocates more than the file holds.
public enum SafeTensors {
    public struct Entry: Sendable {
        public var dtype: String
        public var shape: [Int]
        /// Raw little-endian bytes as stored.
        public var bytes: [UInt8]

        public init(dtype: String, shape: [Int], bytes: [UInt8]) {
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
        }
    }

    public struct File: Sendable {
        public var entries: [String: Entry]
        public var metadata: [String: String]
        /// Keys in header order (the JSON object order is not preserved; sorted for determinism).
        public var keys: [String] { entries.keys.sorted() }

        /// The tensor under `key`, converted to float32. Throws when missing or not numeric.
        public func tensor(_ key: String) throws -> Tensor {
            guard let e = entries[key] else { throw IOError("safetensors: missing key '\(key)'") }
            return try SafeTensors.toTensor(e, key: key)
        }

        /// Every tensor converted to float32.
        public func tensors() throws -> [String: Tensor] {
            var out: [String: Tensor] = [:]
            for (k, e) in entries { out[k] = try SafeTensors.toTensor(e, key: k) }
            return out
        }
    }

    static let elementSize: [String: Int] = [
        "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
    ]

    /// Reads a file from disk.
    public static func read(path: String) throws -> File {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw IOError("safetensors: cannot read '\(path)'")
        }
        do { return try parse([UInt8](data)) } catch let e as IOError {
            throw IOError("\(path): \(e.message)")
        }
    }

    /// Parses an in-memory safetensors image.
    public static func parse(_ bytes: [UInt8]) throws -> File {
        guard bytes.count >= 8 else { throw IOError("safetensors: file shorter than the 8-byte header length") }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n <= UInt64(bytes.count - 8) else {
            throw IOError("safetensors: header length \(n) runs past the end of the file (\(bytes.count) bytes)")
        }
        let headerEnd = 8 + Int(n)
        guard let json = try? JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd])),
              let dict = json as? [String: Any] else {
            throw IOError("safetensors: header is not a JSON object (or not UTF-8)")
        }
        let bufferSize = bytes.count - headerEnd
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        var ranges: [(Int, Int, String)] = []
        for (key, value) in dict {
            if key == "__metadata__" {
                guard let m = value as? [String: Any] else { throw IOError("safetensors: __metadata__ is not an object") }
                for (mk, mv) in m {
                    guard let s = mv as? String else { throw IOError("safetensors: __metadata__['\(mk)'] is not a string") }
                    metadata[mk] = s
                }
                continue
            }
            guard let e = value as? [String: Any],
                  let dtype = e["dtype"] as? String,
                  let shapeAny = e["shape"] as? [Any],
                  let offAny = e["data_offsets"] as? [Any], offAny.count == 2 else {
                throw IOError("safetensors: entry '\(key)' lacks dtype/shape/data_offsets")
            }
            guard let esize = elementSize[dtype] else { throw IOError("safetensors: entry '\(key)' has unsupported dtype \(dtype)") }
            var shape: [Int] = []
            var count = 1
            for d in shapeAny {
                guard let di = (d as? NSNumber)?.intValue, di >= 0 else { throw IOError("safetensors: entry '\(key)' has a bad dimension \(d)") }
                let (p, o) = count.multipliedReportingOverflow(by: di)
                guard !o, p <= bufferSize else {
                    throw IOError("safetensors: entry '\(key)' shape \(shapeAny) needs more elements than the file holds")
                }
                count = p
                shape.append(di)
            }
            guard let b = (offAny[0] as? NSNumber)?.intValue, let en = (offAny[1] as? NSNumber)?.intValue,
                  b >= 0, en >= b, en <= bufferSize else {
                throw IOError("safetensors: entry '\(key)' data_offsets \(offAny) lie outside the \(bufferSize)-byte data buffer")
            }
            guard en - b == count * esize else {
                throw IOError("safetensors: entry '\(key)' has \(en - b) bytes but shape \(shape) × \(dtype) needs \(count * esize)")
            }
            ranges.append((b, en, key))
            entries[key] = Entry(dtype: dtype, shape: shape, bytes: Array(bytes[(headerEnd + b)..<(headerEnd + en)]))
        }
        ranges.sort { $0.0 < $1.0 }
        for i in 1..<max(1, ranges.count) where ranges[i].0 < ranges[i - 1].1 {
            throw IOError("safetensors: entries '\(ranges[i - 1].2)' and '\(ranges[i].2)' overlap")
        }
        return File(entries: entries, metadata: metadata)
    }

    static func toTensor(_ e: Entry, key: String) throws -> Tensor {
        let n = e.shape.reduce(1, *)
        var out = [Float](repeating: 0, count: n)
        e.bytes.withUnsafeBytes { raw in
            switch e.dtype {
            case "F32": for i in 0..<n { out[i] = Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian) }
            case "F64": for i in 0..<n { out[i] = Float(Double(bitPattern: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self).littleEndian)) }
            case "F16": for i in 0..<n { out[i] = Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian)) }
            case "BF16": for i in 0..<n { out[i] = Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) << 16) }
            case "I64": for i in 0..<n { out[i] = Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
            case "I32": for i in 0..<n { out[i] = Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
            case "I16": for i in 0..<n { out[i] = Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) }
            case "I8": for i in 0..<n { out[i] = Float(raw.load(fromByteOffset: i, as: Int8.self)) }
            default: for i in 0..<n { out[i] = Float(raw.load(fromByteOffset: i, as: UInt8.self)) }
            }
        }
        return Tensor(shape: e.shape, data: out)
    }

    /// Serialises float32 tensors (and optional raw entries) with sorted keys, so the same
    /// content always gives the same bytes.
    public static func serialize(_ tensors: [String: Tensor], raw: [String: Entry] = [:],
                                 metadata: [String: String] = [:]) throws -> [UInt8] {
        var all: [String: Entry] = raw
        for (k, t) in tensors {
            var bytes = [UInt8](repeating: 0, count: 4 * t.count)
            bytes.withUnsafeMutableBytes { dst in
                for i in 0..<t.count { dst.storeBytes(of: t.data[i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
            }
            all[k] = Entry(dtype: "F32", shape: t.shape, bytes: bytes)
        }
        var header = "{"
        var offset = 0
        var first = true
        func q(_ s: String) -> String {
            var o = "\""
            for ch in s.unicodeScalars {
                switch ch {
                case "\"": o += "\\\""
                case "\\": o += "\\\\"
                case "\n": o += "\\n"
                default:
                    if ch.value < 0x20 { o += String(format: "\\u%04x", ch.value) } else { o.unicodeScalars.append(ch) }
                }
            }
            return o + "\""
        }
        if !metadata.isEmpty {
            header += q("__metadata__") + ":{" + metadata.keys.sorted().map { q($0) + ":" + q(metadata[$0]!) }.joined(separator: ",") + "}"
            first = false
        }
        let keys = all.keys.sorted()
        for k in keys {
            let e = all[k]!
            if !first { header += "," }
            first = false
            header += q(k) + ":{\"dtype\":\"\(e.dtype)\",\"shape\":[\(e.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + e.bytes.count)]}"
            offset += e.bytes.count
        }
        header += "}"
        var h = Array(header.utf8)
        while (8 + h.count) % 8 != 0 { h.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + h.count + offset)
        var n = UInt64(h.count)
        for _ in 0..<8 { out.append(UInt8(n & 0xff)); n >>= 8 }
        out += h
        for k in keys { out += all[k]!.bytes }
        return out
    }

    /// Writes atomically (temporary file in the same folder, then rename).
    public static func write(_ tensors: [String: Tensor], raw: [String: Entry] = [:],
                             metadata: [String: String] = [:], to path: String) throws {
        let bytes = try serialize(tensors, raw: raw, metadata: metadata)
        try AtomicFile.write(Data(bytes), to: path)
    }
}

/// A small protobuf wire-format decoder for the tests: splits a message into (field, value) records, so an encoded
/// ONNX model can be read back field by field. Independent of `ProtoWriter` (written from the wire-format spec).
struct ProtoDecoder {
    enum Value: Equatable {
        case varint(UInt64)
        case fixed32(UInt32)
        case fixed64(UInt64)
        case bytes([UInt8])
    }

    struct DecodeError: Error, CustomStringConvertible { let description: String }

    /// The records of one message, in order.
    static func records(_ b: [UInt8]) throws -> [(field: Int, value: Value)] {
        var out: [(Int, Value)] = []
        var i = 0
        func varint() throws -> UInt64 {
            var v: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard i < b.count, shift < 64 else { throw DecodeError(description: "truncated varint at \(i)") }
                let byte = b[i]; i += 1
                v |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return v }
                shift += 7
            }
        }
        func little(_ n: Int) throws -> UInt64 {
            guard i + n <= b.count else { throw DecodeError(description: "truncated fixed\(n * 8) at \(i)") }
            var v: UInt64 = 0
            for k in 0..<n { v |= UInt64(b[i + k]) << (8 * UInt64(k)) }
            i += n
            return v
        }
        while i < b.count {
            let key = try varint()
            let field = Int(key >> 3)
            switch key & 7 {
            case 0: out.append((field, .varint(try varint())))
            case 1: out.append((field, .fixed64(try little(8))))
            case 5: out.append((field, .fixed32(UInt32(try little(4)))))
            case 2:
                let n = Int(try varint())
                guard i + n <= b.count else { throw DecodeError(description: "length \(n) past the end at \(i)") }
                out.append((field, .bytes(Array(b[i..<(i + n)]))))
                i += n
            default: throw DecodeError(description: "unsupported wire type \(key & 7) at \(i)")
            }
        }
        return out
    }

    /// A decoded message with typed accessors by field number.
    struct Message {
        let records: [(field: Int, value: Value)]
        init(_ bytes: [UInt8]) throws { records = try ProtoDecoder.records(bytes) }

        func all(_ f: Int) -> [Value] { records.filter { $0.field == f }.map(\.value) }
        func ints(_ f: Int) -> [Int64] {
            all(f).compactMap { if case let .varint(v) = $0 { return Int64(bitPattern: v) } else { return nil } }
        }
        func int(_ f: Int) -> Int64? { ints(f).last }
        func strings(_ f: Int) -> [String] {
            all(f).compactMap { if case let .bytes(b) = $0 { return String(decoding: b, as: UTF8.self) } else { return nil } }
        }
        func string(_ f: Int) -> String? { strings(f).last }
        func bytes(_ f: Int) -> [UInt8]? {
            all(f).compactMap { if case let .bytes(b) = $0 { return b } else { return nil } }.last
        }
        func messages(_ f: Int) throws -> [Message] {
            try all(f).compactMap { if case let .bytes(b) = $0 { return try Message(b) } else { return nil } }
        }
        func message(_ f: Int) throws -> Message? { try messages(f).last }
        /// A packed repeated float field.
        func packedFloats(_ f: Int) -> [Float] {
            guard let b = bytes(f) else { return [] }
            return stride(from: 0, to: b.count, by: 4).map { k in
                Float(bitPattern: UInt32(b[k]) | UInt32(b[k + 1]) << 8 | UInt32(b[k + 2]) << 16 | UInt32(b[k + 3]) << 24)
            }
        }
    }
}

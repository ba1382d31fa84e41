/// A minimal Protocol Buffers wire-format encoder: exactly what the ONNX messages written by this target need.
///
/// Wire format (protobuf "Encoding" reference): every field is a key `(field << 3) | wireType` as a base-128
/// varint, then the value — varint (wire type 0: int32/int64/enum, negative numbers as the 10-byte two's
/// complement), 32-bit little-endian (wire type 5: float), or length-delimited (wire type 2: a varint byte count
/// followed by the bytes of a string, bytes, an embedded message or a packed repeated field).
///
/// Why hand-written rather than apple/swift-protobuf: only encoding of seven ONNX messages is needed (about a
/// hundred lines, tested byte for byte in ONNXTests); generating `onnx.pb.swift` needs `protoc` (not among the
/// build's system packages) plus the `protoc-gen-swift` plugin, and would add the SwiftProtobuf runtime to every
/// build of the CLI on CI's two cores. Files written here are read back by the `onnx` checker and onnxruntime.
public struct ProtoWriter {
    /// Wire types used by ONNX's messages.
    public enum WireType: UInt8 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    /// The encoded message so far.
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// Base-128 varint: 7 bits per byte, least significant group first, high bit set on all but the last byte.
    public mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// A field key: (field number << 3) | wire type.
    public mutating func key(_ field: Int, _ wire: WireType) {
        precondition(field >= 1 && field < (1 << 29), "protobuf field numbers are 1 … 2^29 − 1, got \(field)")
        varint(UInt64(field) << 3 | UInt64(wire.rawValue))
    }

    /// An int64 / int32 / enum field (negative values take 10 bytes, as protobuf specifies for int32 too).
    public mutating func int(_ field: Int, _ value: Int64) {
        key(field, .varint)
        varint(UInt64(bitPattern: value))
    }

    /// A float field (fixed32, little-endian IEEE 754).
    public mutating func float(_ field: Int, _ value: Float) {
        key(field, .fixed32)
        appendLittleEndian(value.bitPattern)
    }

    /// A bytes field.
    public mutating func bytes(_ field: Int, _ value: [UInt8]) {
        key(field, .lengthDelimited)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// A string field (UTF-8).
    public mutating func string(_ field: Int, _ value: String) { bytes(field, Array(value.utf8)) }

    /// An embedded message: `body` writes the message's fields into a fresh writer.
    public mutating func message(_ field: Int, _ body: (inout ProtoWriter) -> Void) {
        var inner = ProtoWriter()
        body(&inner)
        bytes(field, inner.bytes)
    }

    /// A packed repeated float field: one length-delimited record of 4·n little-endian bytes.
    public mutating func packedFloats(_ field: Int, _ values: [Float]) {
        key(field, .lengthDelimited)
        varint(UInt64(values.count * 4))
        bytes.reserveCapacity(bytes.count + values.count * 4)
        for v in values { appendLittleEndian(v.bitPattern) }
    }

    /// An unpacked repeated int64 field (ONNX is proto2 and declares `dims` and `ints` without `packed`):
    /// one key and varint per element.
    public mutating func repeatedInts(_ field: Int, _ values: [Int64]) {
        for v in values { int(field, v) }
    }

    private mutating func appendLittleEndian(_ v: UInt32) {
        bytes.append(UInt8(truncatingIfNeeded: v))
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
        bytes.append(UInt8(truncatingIfNeeded: v >> 16))
        bytes.append(UInt8(truncatingIfNeeded: v >> 24))
    }
}

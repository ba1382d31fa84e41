import Testing
@testable import ONNXExport

/// The wire encoder against bytes worked out by hand from the protobuf encoding rules (the first three are the
/// examples of the protobuf "Encoding" page: 150 in field 1, "testing" in field 2, an embedded message in field 3).
@Suite struct WireEncoderTests {
    func bytes(_ body: (inout ProtoWriter) -> Void) -> [UInt8] {
        var w = ProtoWriter()
        body(&w)
        return w.bytes
    }

    @Test func varints() {
        #expect(bytes { $0.varint(0) } == [0x00])
        #expect(bytes { $0.varint(1) } == [0x01])
        #expect(bytes { $0.varint(127) } == [0x7F])
        #expect(bytes { $0.varint(128) } == [0x80, 0x01])
        #expect(bytes { $0.varint(300) } == [0xAC, 0x02])   // 300 = 0b10_0101100
        #expect(bytes { $0.varint(16_384) } == [0x80, 0x80, 0x01])
        #expect(bytes { $0.varint(UInt64.max) } == [UInt8](repeating: 0xFF, count: 9) + [0x01])
    }

    @Test func varintFieldsIncludingNegative() {
        #expect(bytes { $0.int(1, 150) } == [0x08, 0x96, 0x01])
        // Negative int64/int32 are the 10-byte two's complement.
        #expect(bytes { $0.int(2, -1) } == [0x10] + [UInt8](repeating: 0xFF, count: 9) + [0x01])
        #expect(bytes { $0.int(20, 7) } == [0xA0, 0x01, 0x07])   // key (20 << 3) | 0 = 160 → two bytes
    }

    @Test func lengthDelimited() {
        #expect(bytes { $0.string(2, "testing") } == [0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6E, 0x67])
        #expect(bytes { $0.string(3, "") } == [0x1A, 0x00])
        #expect(bytes { $0.message(3) { $0.int(1, 150) } } == [0x1A, 0x03, 0x08, 0x96, 0x01])
        let long = [UInt8](repeating: 7, count: 200)
        #expect(bytes { $0.bytes(9, long) } == [0x4A, 0xC8, 0x01] + long)   // length 200 = [0xC8, 0x01]
    }

    @Test func floatsFixedAndPacked() {
        #expect(bytes { $0.float(2, 1.0) } == [0x15, 0x00, 0x00, 0x80, 0x3F])
        #expect(bytes { $0.packedFloats(4, [1.0, -2.0]) } == [0x22, 0x08, 0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0])
        #expect(bytes { $0.packedFloats(4, []) } == [0x22, 0x00])
        // Bit patterns survive: the smallest subnormal, −0.
        #expect(bytes { $0.packedFloats(4, [Float(bitPattern: 1), -0.0]) } == [0x22, 0x08, 1, 0, 0, 0, 0, 0, 0, 0x80])
    }

    @Test func unpackedRepeatedInts() {
        #expect(bytes { $0.repeatedInts(1, [3, 270]) } == [0x08, 0x03, 0x08, 0x8E, 0x02])
        #expect(bytes { $0.repeatedInts(1, []) } == [])
    }

    @Test func decoderReadsBackWhatTheEncoderWrote() throws {
        let b = bytes { w in
            w.int(1, 7); w.string(2, "harmoq"); w.packedFloats(4, [0.5, 3.25])
            w.message(7) { $0.repeatedInts(1, [4, -2]) }
        }
        let m = try ProtoDecoder.Message(b)
        #expect(m.int(1) == 7)
        #expect(m.string(2) == "harmoq")
        #expect(m.packedFloats(4) == [0.5, 3.25])
        #expect(try m.message(7)?.ints(1) == [4, -2])
    }

    @Test func tensorAndValueInfoEncoding() throws {
        // TensorProto int8 [2]: dims 2 (field 1), data_type 3 (field 2), name (field 8), raw_data (field 9).
        let t = ONNXTensor.int8("z", dims: [2], [-1, 5])
        #expect(bytes { t.encode(into: &$0) } == [0x08, 0x02, 0x10, 0x03, 0x42, 0x01, 0x7A, 0x4A, 0x02, 0xFF, 0x05])
        // A scalar float: no dims, float_data packed (field 4).
        let s = ONNXTensor.float("s", dims: [], [1.0])
        #expect(bytes { s.encode(into: &$0) } == [0x10, 0x01, 0x22, 0x04, 0x00, 0x00, 0x80, 0x3F, 0x42, 0x01, 0x73])
        // ValueInfoProto x: float [N, 3] → name, type { tensor_type { elem_type 1, shape { dim {param N}, dim {value 3} } } }.
        let v = ONNXValueInfo(name: "x", elemType: .float, shape: [.param("N"), .value(3)])
        #expect(bytes { v.encode(into: &$0) } ==
                [0x0A, 0x01, 0x78,
                 0x12, 0x0F, 0x0A, 0x0D, 0x08, 0x01, 0x12, 0x09, 0x0A, 0x03, 0x12, 0x01, 0x4E, 0x0A, 0x02, 0x08, 0x03])
    }
}

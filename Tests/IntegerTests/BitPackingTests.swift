import Testing
import PropertyBased
import SRInteger

@Suite struct BitPackingTests {
    @Test func packUnpackRoundTripIsExact() async throws {
        await propertyCheck(count: 200, input: Gen.int(in: 0...3), Gen.int(in: 1...9), Gen.int(in: 1...70), Gen.int(in: 0...1_000_000)) {
            bi, rows, cols, seed in
            let bits = BitPacking.supportedBits[bi]
            var src = CodeSource(seed: seed)
            let codes = src.codes(rows * cols, bits: bits)
            let bytes = try BitPacking.pack(codes: codes, rows: rows, cols: cols, bits: bits)
            #expect(bytes.count == rows * ((cols * bits + 7) / 8))
            #expect(BitPacking.unpackReference(bytes, rows: rows, cols: cols, bits: bits) == codes)
            #expect(BitPacking.unpack(bytes, rows: rows, cols: cols, bits: bits).map(Int32.init) == codes)
        }
    }

    /// The documented layout, by hand: little-endian bit stream per row, two's complement fields.
    @Test func layoutMatchesTheDocumentedExamples() throws {
        // 4 bits: code 0 in the low nibble. 1 → 0x1, −1 → 0xF, −8 → 0x8, 7 → 0x7.
        #expect(try BitPacking.pack(codes: [1, -1, -8, 7], rows: 1, cols: 4, bits: 4) == [0xF1, 0x78])
        // 3 bits: 1 = 001, 2 = 010, −1 = 111 at bits 0-2, 3-5, 6-8 → 0b11_010_001 = 0xD1, then bit 8 = 1.
        #expect(try BitPacking.pack(codes: [1, 2, -1], rows: 1, cols: 3, bits: 3) == [0xD1, 0x01])
        // 2 bits: −2 = 10, 1 = 01, 0, −1 = 11 → 0b11_00_01_10 = 0xC6.
        #expect(try BitPacking.pack(codes: [-2, 1, 0, -1], rows: 1, cols: 4, bits: 2) == [0xC6])
        // 8 bits: plain int8. Rows start on a byte boundary: 2 rows of 3 codes at 3 bits take 2 bytes each.
        #expect(try BitPacking.pack(codes: [-128, 127], rows: 1, cols: 2, bits: 8) == [0x80, 0x7F])
        #expect(try BitPacking.pack(codes: [0, 0, 0, -1, -1, -1], rows: 2, cols: 3, bits: 3) == [0, 0, 0xFF, 0x01])
    }

    @Test func codesOutsideTheRangeAreRejected() {
        #expect(throws: IntegerError.self) { try BitPacking.pack(codes: [8], rows: 1, cols: 1, bits: 4) }
        #expect(throws: IntegerError.self) { try BitPacking.pack(codes: [-3], rows: 1, cols: 1, bits: 2) }
        #expect(throws: IntegerError.self) { try BitPacking.pack(codes: [0], rows: 1, cols: 1, bits: 5) }
        #expect(throws: IntegerError.self) { try BitPacking.pack(codes: [0, 0], rows: 1, cols: 1, bits: 8) }
    }
}

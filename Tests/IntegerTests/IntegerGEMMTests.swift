import Testing
import PropertyBased
import Foundation
import SRInteger

@Suite struct IntegerGEMMTests {
    static let fastISAs = IntegerGEMM.ISA.allCases.filter { $0.isSupported }

    /// Every supported kernel against the plain loop on int8 matrices.
    func check(m: Int, n: Int, k: Int, bits: Int, seed: Int) throws {
        var src = CodeSource(seed: seed)
        let a = src.codes(m * k, bits: 8).map { Int8($0) }
        let w = src.codes(n * k, bits: bits)
        let packed = try PackedLinearWeight(bits: bits, outFeatures: n, inFeatures: k,
                                            bytes: try BitPacking.pack(codes: w, rows: n, cols: k, bits: bits),
                                            scales: [Float](repeating: 1, count: n))
        let expected = IntegerGEMM.reference(m: m, n: n, k: k, a: a, w: w.map { Int8($0) })
        for isa in Self.fastISAs {
            let c = try IntegerGEMM.multiply(m: m, a: a, weight: packed, isa: isa)
            #expect(c == expected, "isa \(isa) m=\(m) n=\(n) k=\(k) bits=\(bits)")
        }
    }

    @Test func kernelsMatchReferenceOnRandomShapes() async throws {
        await propertyCheck(count: 120, input: Gen.int(in: 1...40), Gen.int(in: 1...80), Gen.int(in: 1...200),
                            Gen.int(in: 0...3), Gen.int(in: 0...1_000_000)) { m, n, k, bi, seed in
            try check(m: m, n: n, k: k, bits: BitPacking.supportedBits[bi], seed: seed)
        }
    }

    @Test(arguments: [1, 7, 60, 120, 180])
    func kernelsMatchReferenceOnEdgeSizes(size: Int) throws {
        for other in [1, 7, 60, 120, 180] {
            for bits in BitPacking.supportedBits {
                try check(m: size, n: other, k: size, bits: bits, seed: size * 1000 + other + bits)
                try check(m: other, n: size, k: other, bits: bits, seed: size * 7 + other * 3 + bits)
            }
        }
    }

    /// Row counts around the driver's 256-row blocks and the 8-row micro-tile.
    @Test(arguments: [255, 256, 257, 263, 600])
    func kernelsMatchReferenceAcrossRowBlocks(m: Int) throws {
        for bits in BitPacking.supportedBits { try check(m: m, n: 61, k: 63, bits: bits, seed: m * 10 + bits) }
    }

    /// All codes −128 (the one value whose negation overflows int8) and the largest sums.
    @Test func extremeCodesAreExact() throws {
        for (k, bits) in [(4096, 8), (4099, 8), (61, 4), (181, 2), (59, 3)] {
            let lo = -(1 << (bits - 1))
            let m = 7, n = 33
            let a = [Int8](repeating: -128, count: m * k)
            let w = [Int32](repeating: Int32(lo), count: n * k)
            let packed = try PackedLinearWeight(bits: bits, outFeatures: n, inFeatures: k,
                                                bytes: try BitPacking.pack(codes: w, rows: n, cols: k, bits: bits),
                                                scales: [Float](repeating: 1, count: n))
            let expected = Int32(k * 128 * -lo)
            #expect(IntegerGEMM.reference(m: m, n: n, k: k, a: a, w: w.map { Int8($0) }).allSatisfy { $0 == expected })
            for isa in Self.fastISAs {
                let c = try IntegerGEMM.multiply(m: m, a: a, weight: packed, isa: isa)
                #expect(c.allSatisfy { $0 == expected }, "isa \(isa) k=\(k) bits=\(bits): \(c.prefix(3)) vs \(expected)")
            }
            // Mixed signs: a = −128, w = 127 (int8) gives the most negative sums.
            if bits == 8 {
                let w2 = [Int32](repeating: 127, count: n * k)
                let p2 = try PackedLinearWeight(bits: 8, outFeatures: n, inFeatures: k,
                                                bytes: try BitPacking.pack(codes: w2, rows: n, cols: k, bits: 8),
                                                scales: [Float](repeating: 1, count: n))
                for isa in Self.fastISAs {
                    #expect(try IntegerGEMM.multiply(m: m, a: a, weight: p2, isa: isa).allSatisfy { $0 == Int32(-128 * 127 * k) })
                }
            }
        }
    }

    /// Dispatch agrees with the kernel's CPU flags as /proc/cpuinfo lists them (Linux).
    @Test func dispatchFollowsCPUFlags() throws {
        guard let h = FileHandle(forReadingAtPath: "/proc/cpuinfo"), let data = try h.readToEnd(),
              let text = String(data: data, encoding: .utf8),
              let flagsLine = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        #expect(IntegerGEMM.ISA.reference.isSupported)
        #expect(IntegerGEMM.ISA.avx2.isSupported == flags.contains("avx2"))
        let vnni = flags.isSuperset(of: ["avx512f", "avx512bw", "avx512_vnni"])
        #expect(IntegerGEMM.ISA.avx512vnni.isSupported == vnni)
        #expect(IntegerGEMM.ISA.best == (vnni ? .avx512vnni : flags.contains("avx2") ? .avx2 : .reference))
    }
}

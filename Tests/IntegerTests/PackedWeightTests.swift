import _TestSupport
import Foundation
import Testing
import PropertyBased
import HarmoQ
import SRIO
import SREngine
import SRInteger

@Suite struct PackedWeightTests {
    /// Ŵ from the packed codes is bit-identical to the per-channel fake quantization of W.
    @Test func dequantizedEqualsFakeQuant() async throws {
        await propertyCheck(count: 100, input: Gen.int(in: 0...3), Gen.int(in: 1...20), Gen.int(in: 1...90), Gen.int(in: 0...1_000_000)) {
            bi, o, i, seed in
            var src = CodeSource(seed: seed)
            let w = Tensor(shape: [o, i], data: src.floats(o * i, scale: 0.3))
            let (packed, cq) = try PackedLinearWeight.minMax(w, bits: BitPacking.supportedBits[bi])
            #expect(packed.dequantized().data.map(\.bitPattern) == (try cq.fakeQuant(w.data, shape: w.shape)).map(\.bitPattern))
            #expect(packed.codes() == (try cq.codes(w.data, shape: w.shape)))
        }
    }

    @Test func packedFileRoundTripIsExact() throws {
        var src = CodeSource(seed: 7)
        var packed: [String: PackedLinearWeight] = [:]
        for (name, bits, o, i) in [("a.fc1", 2, 5, 13), ("a.fc2", 3, 7, 9), ("b.qkv", 4, 9, 11), ("b.proj", 8, 3, 6)] {
            packed[name] = try PackedLinearWeight.minMax(Tensor(shape: [o, i], data: src.floats(o * i, scale: 1)), bits: bits).0
        }
        let floats = ["a.fc1.bias": Tensor(shape: [5], data: src.floats(5, scale: 1)),
                      "conv.weight": Tensor(shape: [2, 3, 1, 1], data: src.floats(6, scale: 1))]
        let file = PackedModelFile(floatTensors: floats, packed: packed)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("harmoq-int-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try file.write(to: path)
        let back = try PackedModelFile.read(path: path)
        #expect(back.packed == packed)
        #expect(back.floatTensors == floats)
        // The codes are stored as U8 entries with the documented shape [out, rowBytes].
        let raw = try SafeTensors.read(path: path)
        #expect(raw.entries["b.qkv.weight.qcodes"]?.dtype == "U8")
        #expect(raw.entries["b.qkv.weight.qcodes"]?.shape == [9, 6])
        #expect(raw.entries["a.fc2.weight.qcodes"]?.shape == [7, 4])
    }

    @Test func notAPackedFileIsRejected() throws {
        let bytes = try SafeTensors.serialize(["x": Tensor(shape: [1], data: [1])])
        #expect(throws: IntegerError.self) { try PackedModelFile.parse(bytes) }
    }

    /// DAT-light ×2: sizes per format equal the layout formula, and a packed file reloads to the same Ŵ.
    @Test(.enabled(if: TestInputs.datX2 != nil, Comment(rawValue: TestInputs.missingModel)))
    func datLightSizesFollowTheLayout() throws {
        let path = TestInputs.datX2!
        let dict = try ModelLoader.readStateDict(path: path)
        let model = try ModelLoader.build(weights: dict)
        let linears = model.sites.filter(\.isLinear)
        let report = try ModelSizeReport.measure(stateDict: dict, linearNames: linears.map(\.name))
        let fp32Linear = linears.reduce(0) { s, site in
            guard case let .linear(i, o) = site.kind else { return s }
            return s + 4 * i * o
        }
        let fp32Total = dict.values.reduce(0) { $0 + 4 * $1.count }
        #expect(report.rows[0].linearBytes == fp32Linear)
        #expect(report.rows[0].totalBytes == fp32Total)
        for row in report.rows.dropFirst() {
            let expected = linears.reduce(0) { s, site in
                guard case let .linear(i, o) = site.kind else { return s }
                return s + o * ((i * row.bits + 7) / 8) + 4 * o
            }
            #expect(row.linearBytes == expected, "INT\(row.bits)")
            #expect(row.totalBytes == fp32Total - fp32Linear + expected, "INT\(row.bits)")
        }
        FileHandle.standardError.write("model size DAT-light x2:\n\(report)\n".data(using: .utf8)!)

        // Pack at 4 bits, write, read back: Ŵ equals the fake-quantized weight of every site.
        var packed: [String: PackedLinearWeight] = [:]
        var expected: [String: [Float]] = [:]
        for s in linears {
            let w = dict[s.name + ".weight"]!
            let (p, cq) = try PackedLinearWeight.minMax(w, bits: 4)
            packed[s.name] = p
            expected[s.name] = try cq.fakeQuant(w.data, shape: w.shape)
        }
        let file = PackedModelFile(floatTensors: dict.filter { key, _ in packed[String(key.dropLast(".weight".count))] == nil || !key.hasSuffix(".weight") },
                                   packed: packed)
        let back = try PackedModelFile.parse(try file.serialize())
        let deq = back.dequantizedStateDict()
        for s in linears { #expect(deq[s.name + ".weight"]?.data == expected[s.name], "\(s.name)") }
        #expect(deq.count == dict.count)
    }
}

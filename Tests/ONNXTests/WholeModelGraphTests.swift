import Foundation
import HarmoQ
import SRCalibration
import SREngine
import SRIO
import Testing
import _TestSupport
@testable import ONNXExport

/// The whole-model DAT-light graph (`DATLightGraph`): structure decoded back from its bytes, the window gathers
/// against the engine's geometry, and the refusal of plans standard QDQ cannot hold. That onnxruntime computes what the
/// engine computes is checked by ci/onnx-check.sh (ci/onnx-model-check.py), which needs onnxruntime.
@Suite struct WholeModelGraphTests {
    static func model() throws -> (DATLight, [String: Tensor]) {
        let path = try #require(TestInputs.datX2)
        let w = try ModelLoader.readStateDict(path: path)
        return (try #require(try ModelLoader.build(weights: w) as? DATLight), w)
    }

    /// A symmetric (or affine) activation-only site, through the sidecar's JSON form.
    static func operandSite(_ name: String, scheme: String, bits: Int = 4, integerZeroPoint: Bool = false) throws -> SiteQuantization {
        var s: [String: Any] = ["name": name, "kind": "matmulOperand", "activationQuantized": true, "weightQuantized": false,
                                "activationBits": bits, "activationScheme": scheme, "rounding": "halfToEven",
                                "activationLower": scheme == "affine" ? -0.1 : -1.0, "activationUpper": scheme == "affine" ? 0.7 : 1.0]
        if integerZeroPoint { s["activationIntegerZeroPoint"] = true }
        return try JSONDecoder().decode(SiteQuantization.self, from: JSONSerialization.data(withJSONObject: s))
    }

    static func plan(_ sites: [SiteQuantization]) -> QParams {
        QParams(toolVersion: "t", model: "m", architecture: "DAT-light", scale: 2, method: "test", weightBits: 32,
                activationBits: 4, seed: 0, inputs: "fp", patchCount: 0, patchSources: [], notes: [], config: nil, sites: sites)
    }

    @Test(.enabled(if: TestInputs.datX2 != nil, Comment(rawValue: TestInputs.missingModel)))
    func fp32GraphIsTopologicallyOrderedWithTheEngineOpCounts() throws {
        let (model, w) = try Self.model()
        let onnx = try DATLightGraph.build(model: model, weights: w, plan: nil, height: 37, width: 45, producerVersion: "t")
        let m = try ProtoDecoder.Message(onnx.serialized())
        #expect(m.int(1) == 8)                                                   // ir_version
        #expect(try m.message(8)?.int(2) == 17)                                  // opset
        let g = try #require(try m.message(7))
        var defined = Set(try g.messages(11).compactMap { $0.string(1) })
        defined.formUnion(try g.messages(5).compactMap { $0.string(8) })
        var ops: [String: Int] = [:]
        for node in try g.messages(1) {
            for i in node.strings(1) { #expect(defined.contains(i), "node \(node.string(3) ?? "") reads undefined '\(i)'") }
            defined.formUnion(node.strings(2))
            ops[node.string(4) ?? "?", default: 0] += 1
        }
        #expect(try g.messages(12).compactMap { $0.string(1) } == ["sr"])
        #expect(defined.contains("sr"))
        // 9 spatial blocks × 2 branches + 9 channel blocks; 2 LayerNorms per block + before_RG, norm, sg.norm.
        #expect(ops["Softmax"] == 27)
        #expect(ops["LayerNormalization"] == 18 * 3 + 2)
        #expect(ops["Erf"] == 18 * (1 + 1 + 2))                // ffn GELU, dwconv GELU, two AIM GELUs per block
        #expect(ops["Where"] == 4 * 2)                         // shift masks: blocks 2, 6, 10, 14, two branches each
        #expect(ops["DepthToSpace"] == 1 && ops["QuantizeLinear"] == nil)
        #expect(ops["MatMul"] == 18 * 4 + 9 * 2 * 2 + 9 * 2 + 18 * 4)   // Linear sites, attention, channel attention, AIM 1×1
    }

    @Test(.enabled(if: TestInputs.datX2 != nil, Comment(rawValue: TestInputs.missingModel)))
    func windowLayoutCoversEveryTokenOnceAndPadsTheRest() throws {
        let (model, _) = try Self.model()
        for (h, w) in [(37, 45), (64, 64), (33, 70)] {
            for b in [0, 2] { for br in 0...1 {
                let lay = try #require(model.spatialWindowLayout(block: b, branch: br, height: h, width: w))
                let real = lay.source.compactMap { $0 }
                #expect(real.count == h * w && Set(real).count == h * w, "block \(b) branch \(br) \(h)x\(w)")
                #expect(lay.source.count == lay.windowCount * lay.tokensPerWindow)
                #expect(lay.source.count == (h + 31) / 32 * 32 * ((w + 31) / 32 * 32))
                #expect((lay.regions != nil) == (b == 2))
            }}
        }
        #expect(model.spatialWindowLayout(block: 1, branch: 0, height: 8, width: 8) == nil)   // channel block
    }

    /// A rotated plan (`RotationPolicy.floatPlan`: every qkv/fc1/fc2 rotated, weights W·R) is no longer refused: each
    /// rotated site's input goes through one MatMul by its R (initializer `<site>.rotation`, the float32 matrix
    /// `OnlineRotation` uses) straight into the site's weight MatMul (no QDQ: nothing is quantized in this plan), which
    /// reads the plan's W·R; unrotated sites (proj) have no rotation. That onnxruntime then computes what harmoq computes
    /// is ci/onnx-check.sh's rotated whole-model check.
    @Test(.enabled(if: TestInputs.datX2 != nil, Comment(rawValue: TestInputs.missingModel)))
    func rotatedSitesGetAMatMulByRBeforeTheirWeight() throws {
        let (model, w) = try Self.model()
        let plan = try RotationPolicy.floatPlan(model: model, kind: .hadamard, seed: 3)
        #expect(WholeModelQDQ.obstacles(plan).isEmpty)
        let onnx = try DATLightGraph.build(model: model, weights: w, plan: plan, height: 16, width: 16, producerVersion: "t")
        let g = try #require(try ProtoDecoder.Message(onnx.serialized()).message(7))
        let nodes = try g.messages(1)
        var inits: [String: ProtoDecoder.Message] = [:]
        for t in try g.messages(5) { inits[t.string(8) ?? ""] = t }
        #expect(plan.sites.count == 18 * 3)
        for s in plan.sites {
            let r = try #require(s.rotation)
            let rot = try #require(nodes.firstIndex { $0.strings(1).last == s.name + ".rotation" }, "\(s.name): no MatMul by R")
            #expect(nodes[rot].string(4) == "MatMul")
            #expect(try #require(inits[s.name + ".rotation"]).packedFloats(4) == (try r.rotation()).floatMatrix)
            let consumer = try #require(nodes.first { $0.strings(1).first == nodes[rot].strings(2).first })
            #expect(consumer.string(4) == "MatMul" && consumer.strings(1).last == s.name + ".weight_t")
            let l = try #require(s.layer)
            #expect(try #require(inits[s.name + ".weight_t"]).packedFloats(4) == SiteGraph.transpose(l.weight, rows: l.outputs, cols: l.inputs))
        }
        #expect(!nodes.contains { $0.strings(1).last == "layers.0.blocks.0.attn.proj.rotation" })
        #expect(nodes.filter { ($0.strings(1).last ?? "").hasSuffix(".rotation") }.count == 18 * 3)
    }

    @Test(.enabled(if: TestInputs.datX2 != nil, Comment(rawValue: TestInputs.missingModel)))
    func quantizedOperandGetsQDQAndAffineGridsAreRefusedByName() throws {
        let (model, w) = try Self.model()
        let sym = try Self.operandSite("layers.0.blocks.1.attn.probs", scheme: "symmetric")
        let onnx = try DATLightGraph.build(model: model, weights: w, plan: Self.plan([sym]), height: 16, width: 16, producerVersion: "t")
        let g = try #require(try ProtoDecoder.Message(onnx.serialized()).message(7))
        let nodes = try g.messages(1)
        let q = try #require(nodes.firstIndex { $0.string(4) == "QuantizeLinear" })
        #expect(nodes[q].strings(1).first == "layers.0.blocks.1.attn.probs_fp")            // after the Softmax
        #expect(nodes[q + 1].string(4) == "Clip" && nodes[q + 2].string(4) == "DequantizeLinear")
        #expect(nodes.filter { $0.string(4) == "QuantizeLinear" }.count == 1)

        let affine = try Self.operandSite("layers.0.blocks.3.attn.attns.0.probs", scheme: "affine")
        #expect(WholeModelQDQ.obstacles(Self.plan([sym])).isEmpty)
        let obs = WholeModelQDQ.obstacles(Self.plan([sym, affine]))
        #expect(obs.count == 1 && obs[0].hasPrefix("layers.0.blocks.3.attn.attns.0.probs: activation grid is affine"))
        #expect(throws: QuantError.self) {
            _ = try DATLightGraph.build(model: model, weights: w, plan: Self.plan([affine]), height: 16, width: 16, producerVersion: "t")
        }
    }

    @Test(.enabled(if: TestInputs.datX2 != nil, Comment(rawValue: TestInputs.missingModel)))
    func integerZeroPointIsStandardUInt8QDQWithThatZeroPoint() throws {
        let (model, w) = try Self.model()
        let site = try Self.operandSite("layers.0.blocks.1.attn.probs", scheme: "affine", integerZeroPoint: true)
        let z = try #require(try site.activationQuantizer().zeroPoint)
        #expect(z == 2)                                          // round(0.1 / (0.8 / 15)) on [−0.1, 0.7]
        let onnx = try DATLightGraph.build(model: model, weights: w, plan: Self.plan([site]), height: 16, width: 16, producerVersion: "t")
        let g = try #require(try ProtoDecoder.Message(onnx.serialized()).message(7))
        let nodes = try g.messages(1)
        let q = try #require(nodes.first { $0.string(4) == "QuantizeLinear" })
        let zpName = try #require(q.strings(1).last)
        let zp = try #require(try g.messages(5).first { $0.string(8) == zpName })
        #expect(zp.int(2) == 2 && zp.bytes(9) == [UInt8(z)])          // uint8 initializer holding z
        #expect(nodes.filter { $0.string(4) == "Sub" }.count == 1)       // only the input's mean: no float shift
    }

    @Test func int64TensorAndStringAttributeEncoding() throws {
        var w = ProtoWriter()
        ONNXTensor.int64("i", dims: [2], [1, -2]).encode(into: &w)
        let t = try ProtoDecoder.Message(w.bytes)
        #expect(t.int(2) == 7 && t.string(8) == "i")
        #expect(t.bytes(9) == [1, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
        var a = ProtoWriter()
        ONNXAttribute("mode", .string("CRD")).encode(into: &a)
        let m = try ProtoDecoder.Message(a.bytes)
        #expect(m.string(1) == "mode" && m.string(4) == "CRD" && m.int(20) == 3)
    }
}

import Foundation
import HarmoQ
import SRCalibration
import SREngine
import SRIO
import Testing
import _TestSupport
@testable import ONNXExport

/// The whole-model SwinIR-light graph (`SwinIRLightGraph`): structure decoded back from its bytes (op counts of the
/// engine's forward, reflect padding and crop only when the input is not a multiple of 8), the window layout against a
/// hand-worked 16×16 table, and QDQ around every quantized site of a full W4A4 plan. That onnxruntime computes what
/// the engine computes (Set5 ×2 PSNR, differing pixels) is ci/onnx-check.sh's SwinIR part (ci/onnx-model-check.py),
/// which needs onnxruntime.
@Suite struct SwinIRWholeModelGraphTests {
    static let file = "models/swinir-light-x2-stress.safetensors"
    static let missing = "../shared/models/swinir-light-x2-stress.safetensors not present (SwinIR-light weights exist only in ../shared)"

    static func model(splitQKV: Bool = false) throws -> (SwinIRLight, [String: Tensor]) {
        let w = try ModelLoader.readStateDict(path: SharedData.path(file))
        return (try #require(try ModelLoader.build(weights: w, options: .init(splitQKV: splitQKV)) as? SwinIRLight), w)
    }

    /// Nodes in order, initializer names, and the op-type histogram; checks every node input is defined before use.
    static func decode(_ onnx: ONNXModel) throws -> (nodes: [ProtoDecoder.Message], inits: [String: ProtoDecoder.Message], ops: [String: Int]) {
        let m = try ProtoDecoder.Message(onnx.serialized())
        let opset = try m.message(8)?.int(2)
        #expect(m.int(1) == 8 && opset == 17)                                  // IR 8, opset 17
        let g = try #require(try m.message(7))
        var inits: [String: ProtoDecoder.Message] = [:]
        for t in try g.messages(5) { inits[t.string(8) ?? ""] = t }
        var defined = Set(try g.messages(11).compactMap { $0.string(1) }).union(inits.keys)
        var ops: [String: Int] = [:]
        let nodes = try g.messages(1)
        for node in nodes {
            for i in node.strings(1) { #expect(defined.contains(i), "node \(node.string(3) ?? "") reads undefined '\(i)'") }
            defined.formUnion(node.strings(2))
            ops[node.string(4) ?? "?", default: 0] += 1
        }
        #expect(try g.messages(12).compactMap { $0.string(1) } == ["sr"])
        #expect(defined.contains("sr"))
        return (nodes, inits, ops)
    }

    @Test(.enabled(if: SharedData.exists(file), Comment(rawValue: missing)))
    func fp32GraphHasTheEngineOpCountsAndPadsOnlyWhenNeeded() throws {
        let (model, w) = try Self.model()
        #expect(model.layerDepths == [6, 6, 6, 6])
        // 37×45 is reflect-padded to 40×48: one Pad (bottom 3, right 3) and one crop Slice of the output to 74×90.
        let padded = try Self.decode(try SwinIRLightGraph.build(model: model, weights: w, plan: nil, height: 37, width: 45,
                                                                 producerVersion: "t"))
        let blocks = 24
        let ops = padded.ops
        #expect(ops["Pad"] == 1)
        #expect(ops["Softmax"] == blocks)
        #expect(ops["LayerNormalization"] == blocks * 2 + 2)               // norm1, norm2; patch_embed.norm, norm
        #expect(ops["Erf"] == blocks)                                      // the MLP's GELU
        #expect(ops["Where"] == blocks / 2)                                // shift masks: odd blocks
        #expect(ops["Conv"] == 1 + 4 + 1 + 1)                              // conv_first, 4 group convs, after_body, upsample
        #expect(ops["MatMul"] == blocks * (4 + 2))                         // qkv, proj, fc1, fc2; q·kᵀ, P·V
        #expect(ops["Gather"] == blocks * 4)                               // q, k, v windows; scatter back
        #expect(ops["Slice"] == blocks * 3 + 1)                            // q/k/v of the fused qkv; the crop
        #expect(ops["DepthToSpace"] == 1 && ops["QuantizeLinear"] == nil && ops["DequantizeLinear"] == nil)
        let pad = try #require(padded.nodes.first { $0.string(4) == "Pad" })
        #expect(pad.strings(1).first == "lr")
        #expect(try #require(padded.inits[pad.strings(1)[1]]).bytes(9)
                == [0, 0, 0, 0, 0, 0, 3, 3].flatMap { (v: Int64) in withUnsafeBytes(of: v.littleEndian) { Array($0) } })
        let mode = try #require(try pad.messages(5).first { $0.string(1) == "mode" })
        #expect(mode.string(4) == "reflect")
        #expect(padded.nodes.last?.string(4) == "Slice")
        // A multiple of 8: neither Pad nor the crop.
        let exact = try Self.decode(try SwinIRLightGraph.build(model: model, weights: w, plan: nil, height: 16, width: 24,
                                                                producerVersion: "t"))
        #expect(exact.ops["Pad"] == nil && exact.ops["Slice"] == blocks * 3 && exact.nodes.last?.string(4) == "Add")
        // Too small for reflect padding (pad ≥ size), as the engine refuses it.
        #expect(throws: (any Error).self) {
            _ = try SwinIRLightGraph.build(model: model, weights: w, plan: nil, height: 3, width: 16, producerVersion: "t")
        }
    }

    /// 16×16 grid, window 8, shift 4 (hand-worked from the official roll(−4, −4) and the slices (0, −8), (−8, −4), (−4, ∞)):
    /// window 0 token 0 is grid position (4, 4) → 68; window 3 token 63 is rolled position (15, 15) → (3, 3) → 51; the
    /// labels of window 0 are all 0, of window 3 {4, 5, 7, 8} (rows 8…11 / 12…15 × the same columns).
    @Test(.enabled(if: SharedData.exists(file), Comment(rawValue: missing)))
    func windowLayoutMatchesTheHandWorkedShift() throws {
        let (model, _) = try Self.model()
        let shifted = try #require(model.windowLayout(layer: 0, block: 1, height: 16, width: 16))
        #expect(shifted.windowCount == 4 && shifted.tokensPerWindow == 64)
        #expect(shifted.source[0] == 68 && shifted.source[3 * 64 + 63] == 51)
        let regions = try #require(shifted.regions)
        #expect(Set(regions[0..<64]) == [0])
        #expect(Set(regions[(3 * 64)...]) == [4, 5, 7, 8])
        #expect(regions[3 * 64] == 4 && regions[3 * 64 + 4] == 5 && regions[3 * 64 + 32] == 7 && regions[3 * 64 + 63] == 8)
        let plain = try #require(model.windowLayout(layer: 2, block: 4, height: 16, width: 16))
        #expect(plain.regions == nil && plain.source[0] == 0 && plain.source[63] == 7 * 16 + 7)
        for (h, w) in [(40, 48), (16, 16), (64, 24)] { for j in 0..<6 {
            let lay = try #require(model.windowLayout(layer: 1, block: j, height: h, width: w))
            let real = lay.source.compactMap { $0 }
            #expect(real.count == h * w && Set(real).count == h * w, "block \(j) \(h)x\(w): every token once, no padding")
            #expect((lay.regions != nil) == (j % 2 == 1) && model.isShifted(layer: 1, block: j) == (j % 2 == 1))
            #expect(lay.qScale == Float(pow(10.0, -0.5)))
        }}
        #expect(model.windowLayout(layer: 0, block: 0, height: 37, width: 45) == nil)   // not the padded grid
        #expect(model.windowLayout(layer: 4, block: 0, height: 16, width: 16) == nil)
    }

    /// A full MinMax W4A4 plan (every qkv/proj/fc1/fc2 and q/k/v/probs site; calibrated on one 16×16 random patch, the
    /// graph only needs its grids): QuantizeLinear → Clip → DequantizeLinear around every quantized site and nothing
    /// else; each Linear's MatMul reads its input's DequantizeLinear and its int8 weight codes through a per-channel
    /// (axis 1) DequantizeLinear; q is quantized after ×head_dim^−0.5 on its windows, probs after the Softmax, and each
    /// operand's DequantizeLinear feeds the attention MatMuls.
    @Test(.enabled(if: SharedData.exists(file), Comment(rawValue: missing)))
    func everyQuantizedSiteIsWrappedInQDQ() throws {
        let (model, w) = try Self.model()
        var rng = SplitMix64(seed: 7)
        let patch = Tensor(shape: [1, 3, 16, 16], data: (0..<(3 * 256)).map { _ in Float(rng.next() >> 40) / Float(1 << 24) })
        let sites = try ModelCalibrator.calibrate(weights: w, patches: [patch],
                                                  options: ModelCalibrationOptions(method: .minMax, weightBits: 4, activationBits: 4))
        let plan = QParams(toolVersion: "t", model: "swinir-light-x2-stress.safetensors", architecture: "SwinIR-light", scale: 2,
                           method: "minmax", weightBits: 4, activationBits: 4, seed: 0, inputs: "quantized-prefix", patchCount: 1,
                           patchSources: [], notes: [], config: nil, sites: sites)
        #expect(sites.count == 24 * 8 && sites.allSatisfy(\.activationQuantized))
        #expect(WholeModelQDQ.obstacles(plan).isEmpty)
        let (nodes, inits, ops) = try Self.decode(try SwinIRLightGraph.build(model: model, weights: w, plan: plan, height: 21,
                                                                              width: 16, producerVersion: "t"))
        let linear = sites.filter { $0.layer != nil }
        #expect(linear.count == 24 * 4 && linear.allSatisfy(\.weightQuantized))
        #expect(ops["QuantizeLinear"] == sites.count && ops["Clip"] == sites.count)
        #expect(ops["DequantizeLinear"] == sites.count + linear.count)
        var byOutput: [String: ProtoDecoder.Message] = [:]
        for n in nodes { for o in n.strings(2) { byOutput[o] = n } }
        func consumers(_ v: String) -> [ProtoDecoder.Message] { nodes.filter { $0.strings(1).contains(v) } }
        for s in sites {
            let dq = try #require(byOutput[s.name + ".x_dq"], "\(s.name): no DequantizeLinear")
            let clip = try #require(byOutput[dq.strings(1)[0]])
            let q = try #require(byOutput[clip.strings(1)[0]])
            #expect(dq.string(4) == "DequantizeLinear" && clip.string(4) == "Clip" && q.string(4) == "QuantizeLinear", "\(s.name)")
            #expect(q.strings(1)[1] == dq.strings(1)[1] && q.strings(1)[2] == dq.strings(1)[2], "\(s.name): same scale and zero point")
            let step = try #require(inits[q.strings(1)[1]]).packedFloats(4)
            #expect(step == [try s.activationQuantizer().step], "\(s.name)")
            if let l = s.layer {
                let mm = try #require(byOutput[s.name + ".matmul"])
                #expect(mm.strings(1) == [s.name + ".x_dq", s.name + ".w_dq"], "\(s.name)")
                let wdq = try #require(byOutput[s.name + ".w_dq"])
                let axis = try wdq.messages(5).first?.int(3)
                #expect(wdq.strings(1)[0] == s.name + ".w_codes" && axis == 1)
                #expect(try #require(inits[s.name + ".w_codes"]).ints(1) == [Int64(l.inputs), Int64(l.outputs)])
                #expect(try #require(inits[s.name + ".w_codes"]).int(2) == 3)                      // int8
            } else {
                let tail = String(s.name.split(separator: ".").last!)
                let a = String(s.name.dropLast(tail.count + 1))
                let expectedInput = ["q": a + ".q_heads", "k": a + ".k_heads", "v": a + ".v_heads", "probs": a + ".probs_fp"][tail]
                #expect(q.strings(1)[0] == expectedInput, "\(s.name) quantizes \(q.strings(1)[0])")
                let users = consumers(s.name + ".x_dq").map { $0.string(4) ?? "" }
                #expect(users == [tail == "k" ? "Transpose" : "MatMul"], "\(s.name): used by \(users)")
            }
        }
        // q is scaled before its windows are gathered (the engine hooks the scaled q).
        let q0 = try #require(byOutput["layers.0.residual_group.blocks.0.attn.q_gathered"])
        #expect(byOutput[q0.strings(1)[0]]?.string(4) == "Mul")
    }

    /// `harmoq export-onnx --whole-model` of SwinIR-light (no check set): one graph per size, named and indexed as such.
    @Test(.enabled(if: SharedData.exists(file), Comment(rawValue: missing)))
    func wholeModelExportWritesTheSwinIRGraph() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("harmoq-swinir-onnx-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var r = WholeModelExport.Request(modelPath: SharedData.path(Self.file), quantPath: nil, outDir: dir, toolVersion: "t")
        r.sizes = [(12, 20)]
        let index = try WholeModelExport.run(r)
        #expect(index.architecture == "SwinIR-light" && index.scale == 2 && index.input == "lr" && index.output == "sr")
        #expect(index.graphs.map(\.file) == ["swinir-light-x2-fp32-12x20.onnx"])
        #expect(index.graphs[0].ops["Pad"] == 1 && index.graphs[0].ops["Softmax"] == 24)
        #expect(FileManager.default.fileExists(atPath: dir + "/swinir-light-x2-fp32-12x20.onnx"))
    }
}

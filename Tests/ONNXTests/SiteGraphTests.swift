import Foundation
import HarmoQ
import SRCalibration
import Testing
@testable import ONNXExport

/// A site graph decoded back from its bytes: structure, names, shapes and initializer values.
@Suite struct SiteGraphTests {
    static let d = 5, m = 3

    /// A linear site d→m, built through the QPARAMS sidecar's JSON form (SiteQuantization has no public init).
    static func site(activationBits: Int = 4, weightBits: Int = 4, activationScheme: String = "symmetric",
                     weightScheme: String = "symmetric", rounding: String = "halfToEven", hso: Bool = true,
                     activationQuantized: Bool = true) throws -> SiteQuantization {
        let w: [Double] = (0..<(m * d)).map { Double(Float(sin(Double($0) * 1.7) * 0.8)) }
        let layer: [String: Any] = [
            "weightBits": weightBits, "activationBits": activationBits, "weightScheme": weightScheme,
            "activationScheme": activationScheme, "rounding": rounding, "weightGranularity": "perChannel",
            "outputs": m, "inputs": d, "weightLower": [-0.8, -0.7, -0.75], "weightUpper": [0.8, 0.7, 0.75],
            "activationLower": -1.5, "activationUpper": 1.5, "weight": w,
        ].merging(hso ? ["inputScale": [1.0, 2.0, 0.5, 1.25, 4.0]] : [:]) { a, _ in a }
        let s: [String: Any] = [
            "name": "layers.0.mlp.fc1", "kind": "linear", "activationQuantized": activationQuantized, "weightQuantized": true,
            "activationBits": activationBits, "activationScheme": activationScheme, "rounding": rounding,
            "activationLower": -1.5, "activationUpper": 1.5, "layer": layer,
        ]
        return try JSONDecoder().decode(SiteQuantization.self, from: JSONSerialization.data(withJSONObject: s))
    }

    static func decode(_ model: ONNXModel) throws -> (model: ProtoDecoder.Message, graph: ProtoDecoder.Message) {
        let m = try ProtoDecoder.Message(model.serialized())
        return (m, try #require(try m.message(7)))
    }

    @Test func modelHeaderAndNodeOrder() throws {
        let (m, g) = try Self.decode(try SiteGraph.build(try Self.site(), bias: [0.1, -0.2, 0.3], producerVersion: "t"))
        #expect(m.int(1) == 7)                                   // ir_version
        #expect(m.string(2) == "harmoq")
        let opset = try #require(try m.message(8))
        #expect(opset.string(1) == "" && opset.int(2) == 13)
        let ops = try g.messages(1).map { $0.string(4) ?? "?" }
        #expect(ops == ["Div", "QuantizeLinear", "Clip", "DequantizeLinear", "DequantizeLinear", "MatMul", "Add"])
        #expect(g.string(2) == "layers.0.mlp.fc1")
        let meta = try m.messages(14).map { [$0.string(1) ?? "", $0.string(2) ?? ""] }
        #expect(meta.first == ["site", "layers.0.mlp.fc1"])
    }

    @Test func everyNodeInputIsDefinedBeforeUseAndOutputsAreProduced() throws {
        let (_, g) = try Self.decode(try SiteGraph.build(try Self.site(), bias: [0.1, -0.2, 0.3], producerVersion: "t"))
        var defined = Set(try g.messages(11).compactMap { $0.string(1) })     // graph inputs
        defined.formUnion(try g.messages(5).compactMap { $0.string(8) })       // initializer names
        for node in try g.messages(1) {
            for i in node.strings(1) { #expect(defined.contains(i), "node \(node.string(4) ?? "") reads undefined '\(i)'") }
            defined.formUnion(node.strings(2))
        }
        let outs = try g.messages(12).compactMap { $0.string(1) }
        #expect(outs == ["y", "x_codes"])
        for o in outs { #expect(defined.contains(o)) }
    }

    /// Shape of a ValueInfoProto: dim_value or dim_param per dimension.
    func shape(_ v: ProtoDecoder.Message) throws -> [String] {
        let tensor = try #require(try v.message(2)?.message(1))
        return (try tensor.message(2)?.messages(1) ?? []).map { dim in dim.int(1).map { String($0) } ?? dim.string(2) ?? "?" }
    }

    @Test func shapesAndInitializersMatchTheQuantizer() throws {
        let site = try Self.site()
        let l = try #require(site.layer)
        let (_, g) = try Self.decode(try SiteGraph.build(site, bias: [0.1, -0.2, 0.3], producerVersion: "t"))
        let ins = try g.messages(11), outs = try g.messages(12)
        #expect(try shape(ins[0]) == ["N", "5"])
        #expect(try shape(outs[0]) == ["N", "3"])
        #expect(try shape(outs[1]) == ["N", "5"])
        #expect(try #require(try ins[0].message(2)?.message(1)).int(1) == 1)    // float
        #expect(try #require(try outs[1].message(2)?.message(1)).int(1) == 3)   // int8 codes

        var inits: [String: ProtoDecoder.Message] = [:]
        for t in try g.messages(5) { inits[t.string(8) ?? ""] = t }
        let q = try site.activationQuantizer()
        #expect(inits["x_scale"]?.packedFloats(4) == [q.step])
        #expect(inits["x_scale"]?.ints(1) == [])                                // scalar
        #expect(inits["x_code_min"]?.bytes(9) == [UInt8(bitPattern: -8)])
        #expect(inits["x_code_max"]?.bytes(9) == [7])
        #expect(inits["hso_scale"]?.packedFloats(4) == [1.0, 2.0, 0.5, 1.25, 4.0])
        #expect(inits["bias"]?.packedFloats(4) == [0.1, -0.2, 0.3])

        // Weight: int8 codes [d, m] with per-channel scales on axis 1; dequantized, they are Q_w(W)ᵀ bit for bit.
        let wc = try #require(inits["w_codes"])
        #expect(wc.ints(1) == [5, 3] && wc.int(2) == 3)
        let codes = try #require(wc.bytes(9)).map { Int8(bitPattern: $0) }
        let scales = try #require(inits["w_scale"]).packedFloats(4)
        #expect(scales == (try l.weightQuantizers()).map(\.step))
        let qw = try l.quantizedWeight()
        for i in 0..<Self.m { for j in 0..<Self.d {
            #expect((Float(codes[j * Self.m + i]) * scales[i]).bitPattern == qw[i * Self.d + j].bitPattern)
        } }
        #expect(codes.contains { $0 != 0 } && codes.allSatisfy { (-8...7).contains($0) })
        let dq = try g.messages(1).first { $0.string(3) == "w_dequantize" }
        let axis = try #require(try dq?.messages(5).first)
        #expect(axis.string(1) == "axis" && axis.int(3) == 1 && axis.int(20) == 2)
    }

    /// A rotated site (random orthogonal R of order d, stored matrix): the graph starts with MatMul(x, R) — R the float32
    /// matrix `OnlineRotation` multiplies by, [d, d] row-major — then the QDQ of the unrotated graph; also for a W-only
    /// site (the hook rotates whether or not the input is quantized). A rotation of another order is refused.
    @Test func rotatedSiteStartsWithMatMulByR() throws {
        let r = try Rotation.make(kind: .random, order: Self.d, seed: 9)
        for quantized in [true, false] {
            var site = try Self.site(activationQuantized: quantized)
            site.rotation = SiteRotation(kind: .random, seed: 9, order: Self.d, matrix: r.floatMatrix)
            let (_, g) = try Self.decode(try SiteGraph.build(site, bias: [0.1, -0.2, 0.3], producerVersion: "t"))
            let nodes = try g.messages(1)
            #expect(nodes.map { $0.string(4) ?? "?" } == (quantized ? ["MatMul", "Div", "QuantizeLinear", "Clip", "DequantizeLinear", "DequantizeLinear", "MatMul", "Add"]
                                                                    : ["MatMul", "DequantizeLinear", "MatMul", "Add"]))
            #expect(nodes[0].strings(1) == ["x", "rotation"] && nodes[0].strings(2) == ["x_rotated"])
            // the rotated input feeds the Div (quantized) or the weight MatMul (W-only), and x feeds nothing else
            #expect(nodes.filter { $0.strings(1).contains("x_rotated") }.map { $0.string(4) ?? "?" } == [quantized ? "Div" : "MatMul"])
            #expect(nodes.dropFirst().allSatisfy { !$0.strings(1).contains("x") })
            var inits: [String: ProtoDecoder.Message] = [:]
            for t in try g.messages(5) { inits[t.string(8) ?? ""] = t }
            let rt = try #require(inits["rotation"])
            #expect(rt.ints(1) == [5, 5] && rt.packedFloats(4) == r.floatMatrix)
        }
        var wrong = try Self.site()
        wrong.rotation = SiteRotation(kind: .hadamard, seed: 1, order: 4)
        #expect(throws: QuantError.self) { try SiteGraph.build(wrong, bias: nil, producerVersion: "t") }
    }

    @Test func eightBitsNeedsNoClipAndNoHSOMeansNoDiv() throws {
        let (_, g) = try Self.decode(try SiteGraph.build(try Self.site(activationBits: 8, weightBits: 8, hso: false),
                                                         bias: nil, producerVersion: "t"))
        let ops = try g.messages(1).map { $0.string(4) ?? "?" }
        #expect(ops == ["QuantizeLinear", "DequantizeLinear", "DequantizeLinear", "MatMul"])
        let quant = try #require(try g.messages(1).first)
        #expect(quant.strings(2) == ["x_codes"])
    }

    @Test func weightOnlySiteHasNoActivationQDQ() throws {
        let (_, g) = try Self.decode(try SiteGraph.build(try Self.site(activationQuantized: false), bias: nil, producerVersion: "t"))
        #expect(try g.messages(1).map { $0.string(4) ?? "?" } == ["DequantizeLinear", "MatMul"])
        #expect(try g.messages(12).compactMap { $0.string(1) } == ["y"])
    }

    @Test func affineActivationIsAShiftedUInt8QDQ() throws {
        let site = try Self.site(activationScheme: "affine")
        #expect(SiteGraph.obstacle(site) == nil)
        let (_, g) = try Self.decode(try SiteGraph.build(site, bias: [0.1, -0.2, 0.3], producerVersion: "t"))
        let nodes = try g.messages(1)
        #expect(nodes.map { $0.string(4) ?? "?" } ==
                ["Div", "Clip", "Sub", "QuantizeLinear", "Clip", "DequantizeLinear", "Add", "DequantizeLinear", "MatMul", "Add"])
        #expect(nodes[1].strings(1) == ["x_scaled", "x_lower", "x_upper"])
        #expect(nodes[6].strings(1) == ["x_dq_shifted", "x_lower"] && nodes[6].strings(2) == ["x_dq"])
        var inits: [String: ProtoDecoder.Message] = [:]
        for t in try g.messages(5) { inits[t.string(8) ?? ""] = t }
        #expect(inits["x_lower"]?.packedFloats(4) == [-1.5] && inits["x_upper"]?.packedFloats(4) == [1.5])
        #expect(inits["x_zero_point"]?.int(2) == 2 && inits["x_zero_point"]?.bytes(9) == [0])      // uint8 0
        #expect(inits["x_code_min"]?.bytes(9) == [0] && inits["x_code_max"]?.bytes(9) == [15])
        let codes = try #require(try g.messages(12).first { $0.string(1) == "x_codes" })
        #expect(try #require(try codes.message(2)?.message(1)).int(1) == 2)                       // uint8
    }

    @Test func gridsThatQDQCannotExpressAreRefusedWithTheReason() throws {
        let affineWeight = try Self.site(weightScheme: "affine")
        let why = try #require(SiteGraph.obstacle(affineWeight))
        #expect(why.contains("weight grid is affine") && why.contains("zero point"))
        #expect(throws: QuantError.self) { try SiteGraph.build(affineWeight, bias: nil, producerVersion: "t") }
        #expect(SiteGraph.obstacle(try Self.site(rounding: "halfAwayFromZero"))?.contains("half to even") == true)
        #expect(SiteGraph.obstacle(try Self.site(activationBits: 9))?.contains("9 bits") == true)
        #expect(SiteGraph.obstacle(try Self.site()) == nil)
    }

    @Test func rowSubsetIsEvenlySpacedAndBounded() {
        #expect(SiteExport.rowSubset(total: 10, keep: 5) == [0, 2, 4, 6, 8])
        #expect(SiteExport.rowSubset(total: 3, keep: 0) == [0, 1, 2])
        #expect(SiteExport.rowSubset(total: 3, keep: 7) == [0, 1, 2])
    }
}

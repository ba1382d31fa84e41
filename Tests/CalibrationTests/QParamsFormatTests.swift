import Foundation
import HarmoQ
import SRCalibration
import SREngine
import SRIO
import Testing
import _TestSupport

/// QPARAMS files hold each value once (format 2); format-1 files still load, and any hand edit that makes two copies
/// disagree, or a value unusable, is an error naming the site.
@Suite struct QParamsFormatTests {
    /// A harmoq-qparams/1 file written by harmoq before fingerprints (Fixtures/README.md): DAT-light ×2, MinMax W4A4, 3 sites.
    static let v1 = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/v1-dat-x2-minmax-3sites.qparams").path
    static let qkv = "layers.0.blocks.0.attn.qkv"

    /// Copies a QPARAMS (both files) to a fresh temporary path.
    static func copy(_ from: String, _ name: String) throws -> String {
        let to = tempPath(name)
        removeQParams(to)
        try FileManager.default.copyItem(atPath: from, toPath: to)
        try FileManager.default.copyItem(atPath: from + ".json", toPath: to + ".json")
        return to
    }

    /// Rewrites the sidecar through `edit` (a JSON object; key order and formatting do not matter to the reader).
    static func editSidecar(_ path: String, _ edit: (inout [String: Any]) -> Void) throws {
        var doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path + ".json"))) as! [String: Any]
        edit(&doc)
        try JSONSerialization.data(withJSONObject: doc).write(to: URL(fileURLWithPath: path + ".json"))
    }

    /// Edits site `name` of the sidecar.
    static func editSite(_ path: String, _ name: String, _ edit: @escaping (inout [String: Any]) -> Void) throws {
        try editSidecar(path) { doc in
            var sites = doc["sites"] as! [[String: Any]]
            let i = sites.firstIndex { $0["name"] as? String == name }!
            edit(&sites[i])
            doc["sites"] = sites
        }
    }

    static func editTensors(_ path: String, _ edit: (inout [String: Tensor]) -> Void) throws {
        var t = try SafeTensors.read(path: path).tensors()
        edit(&t)
        try SafeTensors.write(t, metadata: [:], to: path)
    }

    /// The error `QParams.read` throws for `path` (recorded as an issue when it does not throw).
    static func readError(_ path: String) -> String? {
        do { _ = try QParams.read(path: path); Issue.record("'\(path)' was accepted"); return nil } catch { return "\(error)" }
    }

    @Test func formatOneFileLoadsWithTheValuesOfItsTensors() throws {
        let q = try QParams.read(path: Self.v1)
        #expect(q.format == QParams.formatV1 && q.modelFingerprint == nil)
        #expect(q.architecture == "DAT-light" && q.scale == 2 && q.method == "minmax" && q.sites.count == 3)
        let raw = try SafeTensors.read(path: Self.v1).tensors()
        for s in q.sites {
            #expect([s.activationLower, s.activationUpper].map(\.bitPattern) == raw[s.name + ".activation_bounds"]!.data.map(\.bitPattern))
            if let l = s.layer {
                #expect(l.weight.map(\.bitPattern) == raw[s.name + ".weight"]!.data.map(\.bitPattern))
                #expect(l.weightLower == raw[s.name + ".weight_lower"]!.data && l.weightUpper == raw[s.name + ".weight_upper"]!.data)
                #expect(l.outputs * l.inputs == l.weight.count)
            }
        }
    }

    /// Rewritten in format 2: the sidecar no longer repeats bounds, shapes or the layer's activation quantizer, and the
    /// file reads back to the same plan.
    @Test func formatTwoSidecarHoldsEachValueOnce() throws {
        let q = try QParams.read(path: Self.v1)
        let path = tempPath("v2-once.qparams")
        defer { removeQParams(path) }
        try q.write(to: path)
        let json = try String(contentsOfFile: path + ".json", encoding: .utf8)
        #expect(json.contains("\"format\" : \"harmoq-qparams\\/2\""))
        for copy in ["activationLower", "activationUpper", "\"layer\"", "\"outputs\"", "\"inputs\" : 60", "weightLower"] {
            #expect(!json.contains(copy), "format-2 sidecar still holds \(copy)")
        }
        #expect(json.contains("\"weightQuantizer\""))
        var back = try QParams.read(path: path)
        #expect(back.format == QParams.format)
        back.format = q.format
        #expect(back == q)
    }

    /// The old file and its format-2 rewrite put bit-identical outputs on the model (and the plan does change them).
    @Test(.enabled(if: TestInputs.datX2 != nil, Comment(rawValue: TestInputs.missingModel)))
    func formatOneAndItsRewriteGiveBitIdenticalOutputs() throws {
        let v1 = try QParams.read(path: Self.v1)
        let path = tempPath("v2-output.qparams")
        defer { removeQParams(path) }
        try v1.write(to: path)
        let v2 = try QParams.read(path: path)
        let weights = try ModelLoader.readStateDict(path: TestInputs.datX2!)
        let x = Tensor(shape: [1, 3, 24, 20], data: (0..<(3 * 24 * 20)).map { Float(($0 * 37) % 101) / 100 })
        let a = try ModelLoader.build(weights: weights), b = try ModelLoader.build(weights: weights)
        let fp = try a.forward(x)
        try QuantizedModel.apply(v1, to: a)
        try QuantizedModel.apply(v2, to: b)
        let ya = try a.forward(x), yb = try b.forward(x)
        #expect(ya.data.map(\.bitPattern) == yb.data.map(\.bitPattern))
        #expect(ya.data != fp.data)
    }

    /// A format-1 sidecar repeats values of the tensors; a hand edit of one copy is refused, naming the site.
    @Test(arguments: [
        ("activationLower", "activation bounds"), ("layer.activationUpper", "activation bounds"),
        ("layer.activationBits", "activation bits"), ("layer.rounding", "rounding"), ("layer.outputs", "weight shape"),
        ("layer.activationScheme", "activation scheme"),
    ])
    func formatOneCopiesThatDisagreeAreRefused(field: String, what: String) throws {
        let path = try Self.copy(Self.v1, "v1-edit-\(field).qparams")
        defer { removeQParams(path) }
        try Self.editSite(path, Self.qkv) { site in
            func change(_ v: Any) -> Any {
                switch field {
                case "layer.rounding": return "halfAwayFromZero"
                case "layer.activationScheme": return "affine"
                case "layer.outputs", "layer.activationBits": return (v as! Int) + 1
                default: return (v as! Double) + 0.25
                }
            }
            if field.hasPrefix("layer.") {
                var layer = site["layer"] as! [String: Any]
                let key = String(field.dropFirst(6))
                layer[key] = change(layer[key]!)
                site["layer"] = layer
            } else {
                site[field] = change(site[field]!)
            }
        }
        let e = Self.readError(path)
        #expect(e?.contains("site \(Self.qkv): \(what) disagree") == true, "\(e ?? "")")
    }

    /// Format 2: values that contradict each other or cannot be used are refused, naming the site (and the channel).
    @Test func formatTwoUnusableValuesAreRefusedNamingTheSite() throws {
        let base = tempPath("v2-base.qparams")
        defer { removeQParams(base) }
        try QParams.read(path: Self.v1).write(to: base)
        let q = try QParams.read(path: base)
        let op = q.sites.first { $0.kind == .matmulOperand }!.name

        func expectRefused(_ name: String, _ expected: String, edit: (String) throws -> Void) throws {
            let path = try Self.copy(base, "v2-\(name).qparams")
            defer { removeQParams(path) }
            try edit(path)
            let e = Self.readError(path)
            #expect(e?.contains(expected) == true, "\(name): \(e ?? "")")
        }
        try expectRefused("lower-above-upper", "site \(op): activation_bounds [3.0, -3.0]") { p in
            try Self.editTensors(p) { $0[op + ".activation_bounds"] = Tensor(shape: [2], data: [3, -3]) }
        }
        try expectRefused("weight-channel", "site \(Self.qkv): weight_lower/weight_upper of channel 7") { p in
            try Self.editTensors(p) { t in
                var lo = t[Self.qkv + ".weight_lower"]!
                lo.data[7] = t[Self.qkv + ".weight_upper"]!.data[7] + 1
                t[Self.qkv + ".weight_lower"] = lo
            }
        }
        try expectRefused("site-bits", "site \(Self.qkv): activation bits 8 differ from the run's 4") { p in
            try Self.editSite(p, Self.qkv) { $0["activationBits"] = 8 }
        }
        try expectRefused("per-tensor", "site \(Self.qkv): per-tensor weight grid, but channel 1") { p in
            try Self.editSite(p, Self.qkv) { site in
                var w = site["weightQuantizer"] as! [String: Any]
                w["granularity"] = "perTensor"
                site["weightQuantizer"] = w
            }
        }
        try expectRefused("missing-tensor", "site \(Self.qkv): tensor '\(Self.qkv).weight_upper' is missing") { p in
            try Self.editTensors(p) { $0[Self.qkv + ".weight_upper"] = nil }
        }
        try expectRefused("wrong-shape", "site \(Self.qkv): tensor '\(Self.qkv).weight_lower' has shape [179]") { p in
            try Self.editTensors(p) { $0[Self.qkv + ".weight_lower"] = Tensor(shape: [179], data: [Float](repeating: -1, count: 179)) }
        }
        try expectRefused("extra-tensor", "tensor(s) 'layers.9.nothing.activation_bounds' belong to no site") { p in
            try Self.editTensors(p) { $0["layers.9.nothing.activation_bounds"] = Tensor(shape: [2], data: [-1, 1]) }
        }
        try expectRefused("operand-weight", "site \(op): a matmul-operand site has no weight") { p in
            try Self.editSite(p, op) { $0["weightQuantizer"] = ["bits": 4, "scheme": "symmetric", "granularity": "perChannel"] }
        }
        try expectRefused("duplicate-site", "site \(op) appears twice") { p in
            try Self.editSidecar(p) { doc in
                var sites = doc["sites"] as! [[String: Any]]
                sites.append(sites.first { $0["name"] as? String == op }!)
                doc["sites"] = sites
            }
        }
        try expectRefused("unknown-format", "has format 'harmoq-qparams/9'") { p in
            try Self.editSidecar(p) { $0["format"] = "harmoq-qparams/9" }
        }
        // Writing refuses the same contradictions (nothing written).
        var bad = q
        bad.sites[0].activationBits = 8
        let out = tempPath("v2-bad-write.qparams")
        defer { removeQParams(out) }
        #expect(throws: QuantError.self) { try bad.write(to: out) }
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}

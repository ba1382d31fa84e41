import Foundation
import HarmoQ
import SRCalibration
import SREngine
import SRIO
import Testing

@Test(needsModelAndImages) func nonFiniteWeightIsRefusedAtLoadNamingTheTensor() throws {
    var weights = try ModelLoader.readStateDict(path: datX2)
    let key = "layers.0.blocks.0.attn.qkv.weight"
    let w = try #require(weights[key])
    for bad in [Float.nan, .infinity] {
        var t = w; t.data[7] = bad
        weights[key] = t
        let e = #expect(throws: EngineError.self) { _ = try ModelLoader.build(weights: weights, source: "m.safetensors") }
        #expect(e?.description.contains("tensor '\(key)'") == true, "\(String(describing: e))")
    }
}

@Test(needsModelAndImages) func nonFiniteActivationsStopCalibrationNamingTheSite() throws {
    // The engine refuses a non-finite model input, so overflow is made inside the model: finite weights (accepted at
    // load) whose LayerNorm gain is Float.greatestFiniteMagnitude turn the first site's input into ±Inf.
    var weights = try ModelLoader.readStateDict(path: datX2)
    let gain = "layers.0.blocks.0.norm1.weight"
    var g = try #require(weights[gain])
    g.data = g.data.map { _ in .greatestFiniteMagnitude }
    weights[gain] = g
    let patches = try CalibrationPatches.draw(count: 2, scale: 2, seed: 0, sources: [calibrationSource])
    let firstSite = try ModelLoader.build(weights: weights).sites[0].name
    #expect(firstSite == "layers.0.blocks.0.attn.qkv")
    var o = ModelCalibrationOptions(method: .minMax, weightBits: 4, activationBits: 4)
    o.siteLimit = 3
    let e = #expect(throws: QuantError.self) { _ = try ModelCalibrator.calibrate(weights: weights, patches: patches.lr, options: o) }
    #expect(e?.description.contains("site \(firstSite):") == true && e?.description.contains("NaN/Inf") == true,
            "\(String(describing: e))")
}

@Test(needsModelAndImages) func nonFiniteQParamsAreRefusedOnWriteAndLoadNamingTheSite() throws {
    let weights = try ModelLoader.readStateDict(path: datX2)
    let patches = try CalibrationPatches.draw(count: 1, scale: 2, seed: 0, sources: [calibrationSource])
    var o = ModelCalibrationOptions(method: .minMax, weightBits: 4, activationBits: 4)
    o.siteLimit = 4
    let sites = try ModelCalibrator.calibrate(weights: weights, patches: patches.lr, options: o)
    let qp = QParams(toolVersion: "test", model: "dat-light-x2.safetensors", architecture: "DAT-light", scale: 2, method: "minmax",
                     weightBits: 4, activationBits: 4, seed: 0, inputs: "quantized-prefix", patchCount: 1, patchSources: [],
                     notes: [], config: nil, sites: sites)
    let linear = try #require(sites.first { $0.kind == .linear })
    let path = tempPath("nonfinite.qparams")
    defer { removeQParams(path) }

    var bad = qp
    let i = bad.sites.firstIndex { $0.name == linear.name }!
    bad.sites[i].layer!.weight[3] = .nan
    let w = #expect(throws: QuantError.self) { try bad.write(to: path) }
    #expect(w?.description.contains("site \(linear.name): weight") == true, "\(String(describing: w))")
    #expect(!FileManager.default.fileExists(atPath: path))

    // A file whose tensors were altered after writing: each parameter kind is refused on load.
    try qp.write(to: path)
    _ = try QParams.read(path: path)
    for tensor in ["weight_upper", "activation_bounds", "weight"] {
        var file = try SafeTensors.read(path: path).tensors()
        file[linear.name + "." + tensor]!.data[0] = tensor == "weight" ? -.infinity : .nan
        let tampered = tempPath("nonfinite-\(tensor).qparams")
        defer { removeQParams(tampered) }
        try SafeTensors.write(file, metadata: [:], to: tampered)
        try FileManager.default.copyItem(atPath: path + ".json", toPath: tampered + ".json")
        let r = #expect(throws: QuantError.self) { _ = try QParams.read(path: tampered) }
        #expect(r?.description.contains("site \(linear.name): \(tensor)") == true, "\(String(describing: r))")
    }
}

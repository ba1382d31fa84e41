import Foundation
import HarmoQ
import SREngine
import SRIO

/// Captures real layer problems (weight + input activations) from DAT-light ×2 on the official 37×45 reference crop
/// (../shared/reference/dat-light-x2_case1.safetensors `input`). Returns nil when ../shared is absent.
enum RealLayerCapture {
    final class Capture: ActivationHook {
        let wanted: Set<String>
        var got: [String: ([Float], Int, Int)] = [:]
        init(_ w: Set<String>) { wanted = w }
        func process(site: Site, index: Int, values: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int) {
            if wanted.contains(site.name) { got[site.name] = (Array(values), rows, cols) }
        }
    }

    static func sharedDir() -> String? {
        var root = URL(fileURLWithPath: #filePath)
        let fm = FileManager.default
        while root.path != "/" {
            root.deleteLastPathComponent()
            if fm.fileExists(atPath: root.appendingPathComponent("Package.swift").path) {
                let s = root.path + "/../shared"
                return fm.fileExists(atPath: s + "/reference/dat-light-x2_case1.safetensors") ? s : nil
            }
        }
        return nil
    }

    static func capture(sites: [String]) throws -> [(String, LayerProblem)]? {
        guard let shared = sharedDir() else { return nil }
        let model = try ModelLoader.load(path: shared + "/models/dat-light-x2.safetensors")
        let input = try SafeTensors.read(path: shared + "/reference/dat-light-x2_case1.safetensors").tensor("input")
        let hook = Capture(Set(sites))
        model.hook = hook
        _ = try model.forward(input)
        model.hook = nil
        let h = input.shape[2], w = input.shape[3]
        return try sites.map { name in
            guard let (x, rows, cols) = hook.got[name] else { throw EngineError("T4: site \(name) was not captured") }
            let (wt, _) = try model.linearWeight(try model.site(named: name))
            let grid = rows == h * w ? try TokenGrid(images: 1, height: h, width: w) : nil
            return ("DAT-x2:" + name, try LayerProblem(weight: wt.data, outputs: wt.shape[0], inputs: wt.shape[1],
                                                       samples: x, rows: rows, grid: grid))
        }
    }
}

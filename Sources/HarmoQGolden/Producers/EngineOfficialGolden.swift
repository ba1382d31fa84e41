import Foundation
import SRIO
import SREngine

/// Independent reference: a fixed sample of the official PyTorch outputs (../shared/reference/*_case1, torch 2.15.0)
/// for DAT-light ×2 / ×4 (real weights) and SwinIR-light ×2 (stress weights). `produce` runs this engine on the same
/// inputs; `expected` reads the official tensors. Tolerance 1e-4 absolute (issue #4's bound on outputs in [0, 1]).
public struct EngineOfficialGolden: GoldenProducer {
    public init() {}
    public let id = "engine-official"
    public let what = "every 97th value of the final output of DAT-light x2, DAT-light x4 (real weights) and SwinIR-light x2 (stress weights) on the 37x45 reference crops, plus the max |Δ| over all values"
    public let producer = "official PyTorch code (SwinIR @ 6545850f, DAT basicsr/archs/dat_arch.py), torch 2.15.0, CPU float32 — ../shared/reference"
    public let kind = GoldenKind.independentReference
    public let tolerance = GoldenTolerance(absolute: 1e-4, relative: 0)

    static let cases = [("dat-x2", "reference/dat-light-x2_case1.safetensors", "models/dat-light-x2.safetensors"),
                        ("dat-x4", "reference/dat-light-x4_case1.safetensors", "models/dat-light-x4.safetensors"),
                        ("swinir-x2", "reference/swinir-light-x2-stress_case1.safetensors", "models/swinir-light-x2-stress.safetensors")]

    func sample(_ t: Tensor, _ name: String, into v: inout [String: GoldenValue]) {
        for i in stride(from: 0, to: t.count, by: 97) { v["\(name).output[\(i)]"] = .number(Double(t.data[i])) }
    }

    public func produce(_ ctx: GoldenContext) throws -> [String: GoldenValue] {
        var v: [String: GoldenValue] = [:]
        for (name, ref, weights) in Self.cases {
            let r = try SafeTensors.read(path: try ctx.shared(ref))
            let model = try ModelLoader.load(path: try ctx.shared(weights))
            let out = try model.forward(try r.tensor("input"))
            sample(out, name, into: &v)
            v["\(name).max-abs-diff"] = .number(Double(out.maxAbsDifference(try r.tensor("output"))))
        }
        return v
    }

    public func expected(_ ctx: GoldenContext) throws -> [String: GoldenValue] {
        var v: [String: GoldenValue] = [:]
        for (name, ref, _) in Self.cases {
            let r = try SafeTensors.read(path: try ctx.shared(ref))
            sample(try r.tensor("output"), name, into: &v)
            v["\(name).max-abs-diff"] = .number(0)
        }
        return v
    }
}

import _TestSupport
import Foundation
import SREngine
import SRIO
import Testing

/// Stage-by-stage comparison with tensors produced by the official PyTorch code
/// (../shared/reference/*_case*.safetensors). Tolerances are per stage, about 10–20× the stage's
/// fp32-vs-fp64 noise floor listed in reference/README.md, and 1e-4 on the final output.
struct ConformanceCase {
    let reference: String
    let model: String
    /// (stage name, max |Δ| allowed) in forward order.
    let stages: [(String, Float)]
}

func runConformance(_ c: ConformanceCase) throws {
    let ref = try SafeTensors.read(path: SharedData.path("reference/\(c.reference)"))
    let model = try ModelLoader.load(path: SharedData.path("models/\(c.model)"))
    var got: [String: Tensor] = [:]
    var report: [String] = []
    let out = try model.forward(try ref.tensor("input")) { name, t in got[name] = t }
    #expect(got["output"] == out)
    for (name, tol) in c.stages {
        let expected = try ref.tensor(name)
        guard let actual = got[name] else {
            Issue.record("stage \(name): the engine emitted no such stage")
            continue
        }
        guard actual.shape == expected.shape else {
            Issue.record("stage \(name): shape \(actual.shape), official \(expected.shape)")
            continue
        }
        let d = actual.maxAbsDifference(expected)
        report.append("\(name)=\(String(format: "%.2e", d))")
        #expect(d <= tol, "stage \(name) of \(c.reference): max|Δ| = \(d) > \(tol)")
    }
    // Measured differences, for the record (stderr keeps the test output parseable).
    FileHandle.standardError.write("conformance \(c.reference): \(report.joined(separator: " "))\n".data(using: .utf8)!)
}

let datStages: [(String, Float)] = [
    ("conv_first", 1e-5), ("before_RG", 2e-5), ("block0_attn", 2e-5), ("block0", 3e-5),
    ("block1_attn", 2e-5), ("block1", 5e-5), ("block2_attn", 3e-5), ("block2", 1e-4),
] + (3..<18).map { ("block\($0)", Float(2e-4)) } + [
    ("layer0", 1e-3), ("norm", 2e-5), ("conv_after_body", 1e-5), ("upsample_conv", 1e-5), ("output", 1e-5),
]

let swinStages: [(String, Float)] = [
    ("input_padded", 0), ("conv_first", 5e-6), ("patch_embed", 2e-5), ("layer0_block0", 3e-5),
    ("layer0_block1", 3e-5), ("layer0", 6e-5), ("layer1", 1e-4), ("layer2", 2e-4), ("layer3", 3e-4),
    ("norm", 3e-5), ("conv_after_body", 3e-5), ("upsample_conv", 3e-5), ("output_padded", 3e-5), ("output", 3e-5),
]

@Suite(.enabled(if: SharedData.available, "../shared (models + reference) not present"))
struct Conformance {
    @Test func datLightX2Case1() throws {
        try runConformance(.init(reference: "dat-light-x2_case1.safetensors", model: "dat-light-x2.safetensors", stages: datStages))
    }

    @Test func datLightX4Case1() throws {
        try runConformance(.init(reference: "dat-light-x4_case1.safetensors", model: "dat-light-x4.safetensors", stages: datStages))
    }

    @Test func swinIRLightX2Case1() throws {
        try runConformance(.init(reference: "swinir-light-x2-stress_case1.safetensors",
                                 model: "swinir-light-x2-stress.safetensors", stages: swinStages))
    }

    @Test func swinIRLightX2Case2() throws {
        try runConformance(.init(reference: "swinir-light-x2-stress_case2.safetensors",
                                 model: "swinir-light-x2-stress.safetensors", stages: swinStages))
    }

    @Test func swinIRLightX4Case1() throws {
        try runConformance(.init(reference: "swinir-light-x4-stress_case1.safetensors",
                                 model: "swinir-light-x4-stress.safetensors", stages: swinStages))
    }
}

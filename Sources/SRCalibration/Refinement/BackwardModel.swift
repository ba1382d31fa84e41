import HarmoQ
import SREngine
import SRIO

/// The backward-capable forward of either architecture behind one interface for whole-model distillation: a forward
/// that returns the output and every block's output, and (for a training pass) the backward from dL/d output plus
/// optional dL/d block outputs, accumulating into the site quantizers and `grads`.
struct BackwardModel {
    struct Pass {
        let output: Tensor
        let blockOutputs: [[Float]]
        /// Backward of this pass (nil for an evaluation pass, which keeps only block inputs).
        let backward: ((_ gradOutput: Tensor, _ gradBlockOutputs: [Int: [Float]]) -> Void)?
    }

    let blockCount: Int
    /// The blocks whose outputs feature terms compare by default: the end of each residual group (SwinIR-light: the
    /// last block of each RSTB, 2DQuant's hooks) or DAT-light's 18 blocks in four groups (`TwoDQuantLayout`).
    let defaultFeatureBlocks: [Int]
    let run: (_ input: Tensor, _ train: Bool) throws -> Pass

    static func make(architecture: String, weights: [String: Tensor], scale: Int, quantizers: SiteQuantizers = .none) throws -> BackwardModel {
        switch architecture {
        case Architecture.datLight.rawValue:
            let m = try DATLightBackward(weights: weights, scale: scale, quantizers: quantizers)
            let g = m.makeGradients()
            return BackwardModel(blockCount: m.blocks.count, defaultFeatureBlocks: [4, 9, 13, 17]) { x, train in
                let t = try m.forward(x, retention: train ? .all : .blockInputs)
                return Pass(output: t.output, blockOutputs: t.blockOutputs, backward: train ? { go, gb in
                    g.zero()
                    _ = m.backward(t, gradOutput: go, gradBlockOutputs: gb, into: g)
                } : nil)
            }
        case Architecture.swinIRLight.rawValue:
            let m = try SwinIRLightBackward(weights: weights, scale: scale, quantizers: quantizers)
            let g = m.makeGradients()
            var ends: [Int] = []
            for (k, n) in m.blockNames.enumerated() {
                let group = n.split(separator: ".").prefix(2)
                if k + 1 == m.blockNames.count || m.blockNames[k + 1].split(separator: ".").prefix(2) != group { ends.append(k) }
            }
            return BackwardModel(blockCount: m.blockNames.count, defaultFeatureBlocks: ends) { x, train in
                let t = try m.forward(x, retention: train ? .all : .blockInputs)
                return Pass(output: t.output, blockOutputs: t.blockOutputs, backward: train ? { go, gb in
                    g.zero()
                    _ = m.backward(t, gradOutput: go, gradBlockOutputs: gb, into: g)
                } : nil)
            }
        default:
            throw QuantError("output-level refinement: no backward for architecture '\(architecture)' (DAT-light, SwinIR-light)")
        }
    }
}

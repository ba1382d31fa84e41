import HarmoQ
import SREngine
import SRIO

/// The chain of transformer blocks that block reconstruction walks, for either architecture, behind one interface:
/// the first block's input, each block's forward (with the model's site quantizers) and backward, and what lies
/// between two blocks. DAT-light: 18 blocks in one residual group, nothing between them. SwinIR-light: 4 RSTBs of 6
/// blocks; after the last block of an RSTB its conv 3×3 and the RSTB's input are added (FP: no quantized site there),
/// which gives the next RSTB's first input.
struct BlockChain {
    /// Module paths of the blocks in execution order (their sites share the prefix "<path>.").
    let prefixes: [String]
    /// Tokens entering block 0 for a (1, 3, h, w) patch, and the (padded) token grid size.
    let input: (_ patch: Tensor) throws -> (tokens: [Float], height: Int, width: Int)
    /// Forward of block `i` through the model's quantizers: its output and the cache its backward reads.
    let forward: (_ i: Int, _ x: [Float], _ height: Int, _ width: Int) -> (output: [Float], cache: AnyObject)
    /// Backward of block `i` from dL/d output, accumulating into the site quantizers' gradients and `grads`.
    let backward: (_ i: Int, _ cache: AnyObject, _ gradOutput: [Float], _ grads: ParameterGradients) -> Void
    /// True where block `i` is the first of a residual group (its input is the group's input).
    let startsGroup: (_ i: Int) -> Bool
    /// The next block's input from block `i`'s output and its group's input (identity inside a group).
    let next: (_ i: Int, _ output: [Float], _ groupInput: [Float], _ height: Int, _ width: Int) -> [Float]
    let makeGradients: () -> ParameterGradients

    var count: Int { prefixes.count }

    /// The chain of `architecture` with these weights and quantizers (`.none`: the FP teacher).
    static func make(architecture: String, weights: [String: Tensor], scale: Int, quantizers: SiteQuantizers = .none) throws -> BlockChain {
        switch architecture {
        case Architecture.datLight.rawValue:
            let m = try DATLightBackward(weights: weights, scale: scale, quantizers: quantizers)
            return BlockChain(
                prefixes: m.blocks.map(\.prefix),
                input: { try m.blockInput($0) },
                forward: { i, x, h, w in let c = m.blocks[i].forward(x, height: h, width: w, quantizers: m.quantizers); return (c.output, c) },
                backward: { i, c, d, g in _ = m.blocks[i].backward(c as! DATBlockBackward.Cache, gradOutput: d, quantizers: m.quantizers, grads: g) },
                startsGroup: { $0 == 0 },
                next: { _, y, _, _, _ in y },
                makeGradients: { m.makeGradients() })
        case Architecture.swinIRLight.rawValue:
            let m = try SwinIRLightBackward(weights: weights, scale: scale, quantizers: quantizers)
            let flat = m.blocks.enumerated().flatMap { g, layer in layer.indices.map { (g, $0) } }
            return BlockChain(
                prefixes: m.blockNames,
                input: { try m.blockInput($0) },
                forward: { i, x, h, w in
                    let (g, j) = flat[i]
                    let c = m.blocks[g][j].forward(x, height: h, width: w, quantizers: m.quantizers)
                    return (c.output, c)
                },
                backward: { i, c, d, grads in
                    let (g, j) = flat[i]
                    _ = m.blocks[g][j].backward(c as! SwinIRBlockBackward.Cache, gradOutput: d, quantizers: m.quantizers, grads: grads)
                },
                startsGroup: { flat[$0].1 == 0 },
                next: { i, y, groupInput, h, w in
                    let (g, j) = flat[i]
                    return j + 1 == m.blocks[g].count ? m.groupTail(g, blockOutput: y, groupInput: groupInput, height: h, width: w) : y
                },
                makeGradients: { m.makeGradients() })
        default:
            throw QuantError("--refine block: no block chain for architecture '\(architecture)' (DAT-light, SwinIR-light)")
        }
    }
}

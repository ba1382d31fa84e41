import SRIO

/// DAT's DynamicPosBias (residual = false) with a tape: table = pos3(pos2(pos1(pos_proj(rpe_biases)))), each posK =
/// LayerNorm → ReLU → Linear; the forward arithmetic is that of `DynamicPosBias.table`. The backward takes
/// dL/d table (entries × heads) to every MLP parameter (rpe_biases is a buffer, a constant).
struct DynamicPosBiasBackward {
    let prefix: String
    let posDim: Int, heads: Int, entries: Int
    let rpe: [Float]
    /// Linear weights/biases: pos_proj, pos1.2, pos2.2, pos3.2; LayerNorms pos1.0, pos2.0, pos3.0.
    let linW: [[Float]], linB: [[Float]]
    let norms: [LayerNorm]
    /// Forward values: x0 = pos_proj(rpe); per stage k: ln_k, relu_k, out_k (out_3 = table).
    private(set) var x0: [Float] = [], ln: [[Float]] = [], relu: [[Float]] = [], outs: [[Float]] = []
    var table: [Float] { outs[2] }

    static func linearNames(_ p: String) -> [String] { ["\(p).pos.pos_proj", "\(p).pos.pos1.2", "\(p).pos.pos2.2", "\(p).pos.pos3.2"] }
    static func normNames(_ p: String) -> [String] { ["\(p).pos.pos1.0", "\(p).pos.pos2.0", "\(p).pos.pos3.0"] }
    static func parameterNames(_ p: String) -> [String] {
        (linearNames(p) + normNames(p)).flatMap { ["\($0).weight", "\($0).bias"] }
    }

    init(_ w: [String: Tensor], _ p: String, posDim: Int, heads: Int, entries: Int) {
        prefix = p; self.posDim = posDim; self.heads = heads; self.entries = entries
        rpe = w["\(p).rpe_biases"]!.data
        linW = Self.linearNames(p).map { w["\($0).weight"]!.data }
        linB = Self.linearNames(p).map { w["\($0).bias"]!.data }
        norms = Self.normNames(p).map { LayerNorm(weight: w["\($0).weight"]!.data, bias: w["\($0).bias"]!.data) }
        x0 = Self.linear(rpe, linW[0], linB[0], 2)
        var cur = x0
        for k in 0..<3 {
            let l = norms[k].apply(cur)
            let r = l.map { max($0, 0) }
            let o = Self.linear(r, linW[k + 1], linB[k + 1], posDim)
            ln.append(l); relu.append(r); outs.append(o)
            cur = o
        }
    }

    /// As `DynamicPosBias.table`'s inner linear: acc = b[j]; acc += x·w in input order.
    static func linear(_ x: [Float], _ w: [Float], _ b: [Float], _ i: Int) -> [Float] {
        let o = b.count, rows = x.count / i
        var y = [Float](repeating: 0, count: rows * o)
        for r in 0..<rows { for j in 0..<o {
            var acc = b[j]
            for t in 0..<i { acc += x[r * i + t] * w[j * i + t] }
            y[r * o + j] = acc
        }}
        return y
    }

    /// Adds the parameter gradients for dL/d table.
    func backward(dTable: [Float], grads: ParameterGradients) {
        let names = Self.linearNames(prefix), nn = Self.normNames(prefix)
        var g = dTable
        for k in stride(from: 2, through: 0, by: -1) {
            let inputs = k == 0 ? x0 : outs[k - 1]
            let outF = linB[k + 1].count
            let dRelu = linearBackward(names[k + 1], x: relu[k], dy: g, weight: linW[k + 1], inF: posDim, outF: outF, grads: grads)
            let dLn = ActivationBackward.relu(x: ln[k], dy: dRelu)
            var dIn = [Float](repeating: 0, count: inputs.count)
            inputs.withUnsafeBufferPointer { xp in dLn.withUnsafeBufferPointer { gp in dIn.withUnsafeMutableBufferPointer { d in
                grads.with("\(nn[k]).weight") { dw in grads.with("\(nn[k]).bias") { db in
                    LayerNormBackward.backward(x: xp.baseAddress!, ldx: posDim, dy: gp.baseAddress!, ldy: posDim, rows: entries,
                                               gamma: norms[k].weight, dx: d.baseAddress!, lddx: posDim, dGamma: dw, dBeta: db)
                }}
            }}}
            g = dIn
        }
        _ = linearBackward(names[0], x: rpe, dy: g, weight: linW[0], inF: 2, outF: posDim, grads: grads)
    }

    private func linearBackward(_ n: String, x: [Float], dy: [Float], weight: [Float], inF: Int, outF: Int, grads: ParameterGradients) -> [Float] {
        var dx = [Float](repeating: 0, count: x.count / inF * inF)
        let rows = x.count / inF
        x.withUnsafeBufferPointer { xp in dy.withUnsafeBufferPointer { gp in weight.withUnsafeBufferPointer { wp in dx.withUnsafeMutableBufferPointer { d in
            grads.with("\(n).weight") { dw in grads.with("\(n).bias") { db in
                LinearBackward.backward(x: xp.baseAddress!, ldx: inF, dy: gp.baseAddress!, ldy: outF, rows: rows, weight: wp.baseAddress!,
                                        inFeatures: inF, outFeatures: outF, dx: d.baseAddress!, lddx: inF, dW: dw, db: db)
            }}
        }}}}
        return dx
    }
}

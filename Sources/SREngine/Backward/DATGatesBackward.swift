import CKernels
import SRIO

/// DAT's Adaptive Interaction Module gates with a tape, forward arithmetic as `InteractionGates`:
/// channel gate σ(ci4(GELU(BN(ci1(avgpool(x)))))) (C values), spatial gate σ(si3(GELU(BN(si0(x))))) (L values).
struct DATGatesBackward {
    let prefix: String
    let ci1: Convolution.Dense, ci4: Convolution.Dense, si0: Convolution.Dense, si3: Convolution.Dense
    let ciBN: BatchNormEval, siBN: BatchNormEval
    let ci1B: DenseConvBackward, ci4B: DenseConvBackward, si0B: DenseConvBackward, si3B: DenseConvBackward
    let ciBNB: BatchNormEvalBackward, siBNB: BatchNormEvalBackward

    init(_ w: [String: Tensor], _ p: String) {
        prefix = p
        func conv(_ n: String) -> (Convolution.Dense, DenseConvBackward) {
            let t = w["\(p).\(n).weight"]!
            return (Convolution.Dense(weight: t, bias: w["\(p).\(n).bias"]!.data), DenseConvBackward(weight: t))
        }
        func bn(_ n: String) -> (BatchNormEval, BatchNormEvalBackward) {
            let a = w["\(p).\(n).weight"]!.data, b = w["\(p).\(n).bias"]!.data
            let m = w["\(p).\(n).running_mean"]!.data, v = w["\(p).\(n).running_var"]!.data
            return (BatchNormEval(weight: a, bias: b, runningMean: m, runningVar: v),
                    BatchNormEvalBackward(weight: a, bias: b, runningMean: m, runningVar: v))
        }
        let c1 = conv("channel_interaction.1"), c4 = conv("channel_interaction.4")
        let s0 = conv("spatial_interaction.0"), s3 = conv("spatial_interaction.3")
        let bc = bn("channel_interaction.2"), bs = bn("spatial_interaction.1")
        ci1 = c1.0; ci1B = c1.1; ci4 = c4.0; ci4B = c4.1; si0 = s0.0; si0B = s0.1; si3 = s3.0; si3B = s3.1
        ciBN = bc.0; ciBNB = bc.1; siBN = bs.0; siBNB = bs.1
    }

    static func parameterNames(_ p: String) -> [String] {
        ["channel_interaction.1", "channel_interaction.2", "channel_interaction.4",
         "spatial_interaction.0", "spatial_interaction.1", "spatial_interaction.3"].flatMap { ["\(p).\($0).weight", "\(p).\($0).bias"] }
    }

    struct ChannelCache { var pooled: [Float] = [], a: [Float] = [], bn: [Float] = [], gelu: [Float] = [], gate: [Float] = [] }
    struct SpatialCache { var a: [Float] = [], bn: [Float] = [], gelu: [Float] = [], gate: [Float] = [] }

    func channelGate(_ x: [Float], tokens L: Int) -> ChannelCache {
        var c = ChannelCache()
        c.pooled = ChannelOps.columnMeans(x, rows: L, cols: ci1.inChannels)
        c.a = ci1.apply(c.pooled, height: 1, width: 1)
        c.bn = c.a
        c.bn.withUnsafeMutableBufferPointer { ciBN.apply($0.baseAddress!, rows: 1) }
        c.gelu = c.bn
        c.gelu.withUnsafeMutableBufferPointer { ck_gelu($0.baseAddress!, $0.count) }
        c.gate = ci4.apply(c.gelu, height: 1, width: 1).map(Activations.sigmoid)
        return c
    }

    func spatialGate(_ x: [Float], tokens L: Int) -> SpatialCache {
        var c = SpatialCache()
        c.a = si0.apply(x, height: 1, width: L)
        c.bn = c.a
        c.bn.withUnsafeMutableBufferPointer { siBN.apply($0.baseAddress!, rows: L) }
        c.gelu = c.bn
        c.gelu.withUnsafeMutableBufferPointer { Activations.gelu($0.baseAddress!, count: $0.count) }
        var s = si3.apply(c.gelu, height: 1, width: L)
        s.withUnsafeMutableBufferPointer { p in
            let b = p.baseAddress!
            Parallel.elementwise(p.count) { r in for i in r { b[i] = Activations.sigmoid(b[i]) } }
        }
        c.gate = s
        return c
    }

    /// dL/dx (L × C, added into dx) from dL/dgate (C values).
    func channelBackward(_ c: ChannelCache, dGate: [Float], tokens L: Int, dx: UnsafeMutablePointer<Float>, grads: ParameterGradients) {
        let C = ci1.inChannels
        let dLogit = ActivationBackward.sigmoid(output: c.gate, dy: dGate)
        let dGelu = dense1x1Backward(ci4, ci4B, "channel_interaction.4", x: c.gelu, dy: dLogit, tokens: 1, grads: grads)
        let dBN = ActivationBackward.gelu(x: c.bn, dy: dGelu)
        let dA = bnBackward(ciBNB, "channel_interaction.2", x: c.a, dy: dBN, rows: 1, grads: grads)
        let dPooled = dense1x1Backward(ci1, ci1B, "channel_interaction.1", x: c.pooled, dy: dA, tokens: 1, grads: grads)
        let inv = dPooled.map { $0 / Float(L) }
        Parallel.ranges(L, minPerChunk: 1024) { r in for l in r { for ch in 0..<C { dx[l * C + ch] += inv[ch] } } }
    }

    /// dL/dx (L × C, added into dx) from dL/dgate (L values); x is the gate's input.
    func spatialBackward(_ c: SpatialCache, x: [Float], dGate: [Float], tokens L: Int, dx: UnsafeMutablePointer<Float>,
                         grads: ParameterGradients) {
        let dLogit = ActivationBackward.sigmoid(output: c.gate, dy: dGate)
        let dGelu = dense1x1Backward(si3, si3B, "spatial_interaction.3", x: c.gelu, dy: dLogit, tokens: L, grads: grads)
        let dBN = ActivationBackward.gelu(x: c.bn, dy: dGelu)
        let dA = bnBackward(siBNB, "spatial_interaction.1", x: c.a, dy: dBN, rows: L, grads: grads)
        let d = dense1x1Backward(si0, si0B, "spatial_interaction.0", x: x, dy: dA, tokens: L, grads: grads)
        d.withUnsafeBufferPointer { BackwardReduce.add($0.baseAddress!, into: dx, count: d.count) }
    }

    private func dense1x1Backward(_ f: Convolution.Dense, _ b: DenseConvBackward, _ n: String, x: [Float], dy: [Float], tokens L: Int,
                                  grads: ParameterGradients) -> [Float] {
        var dx = [Float](repeating: 0, count: L * f.inChannels)
        x.withUnsafeBufferPointer { xp in dy.withUnsafeBufferPointer { gp in dx.withUnsafeMutableBufferPointer { d in
            b.inputGradient(gp.baseAddress!, height: 1, width: L, into: d.baseAddress!)
            grads.with("\(prefix).\(n).weight") { dw in grads.with("\(prefix).\(n).bias") { db in
                b.parameterGradients(x: xp.baseAddress!, dy: gp.baseAddress!, height: 1, width: L, dW: dw, db: db)
            }}
        }}}
        return dx
    }

    private func bnBackward(_ b: BatchNormEvalBackward, _ n: String, x: [Float], dy: [Float], rows: Int, grads: ParameterGradients) -> [Float] {
        var dx = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { xp in dy.withUnsafeBufferPointer { gp in dx.withUnsafeMutableBufferPointer { d in
            grads.with("\(prefix).\(n).weight") { dw in grads.with("\(prefix).\(n).bias") { db in
                b.backward(x: xp.baseAddress!, dy: gp.baseAddress!, rows: rows, dx: d.baseAddress!, dGamma: dw, dBeta: db)
            }}
        }}}
        return dx
    }
}

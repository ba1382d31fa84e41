import CKernels
import Foundation
import SRIO

/// One DATB block of DAT-light with a tape: the forward arithmetic of `DATBlock.forward` (same kernels, same order,
/// so the FP output is identical), optional differentiable quantizers at every site, and a backward giving dL/d block
/// input and dL/d every block parameter (official names, including DynamicPosBias MLPs, temperature, AIM convs and
/// BN affine parameters; BN running statistics are constants).
public final class DATBlockBackward {
    public let index: Int
    public let prefix: String
    let spatial: Bool, shifted: Bool
    let dim = 60, heads = 6, headDim = 10
    let splitSize = (8, 32)

    let norm1: LayerNorm, norm2: LayerNorm, sgNorm: LayerNorm
    let qkv: QKVBackward
    let proj: QuantLinear, fc1: QuantLinear, fc2: QuantLinear
    let dwConv: Convolution.Depthwise, dwConvB: DepthwiseConvBackward
    let dwBN: BatchNormEval, dwBNB: BatchNormEvalBackward
    let gates: DATGatesBackward
    let sgConv: Convolution.Depthwise, sgConvB: DepthwiseConvBackward
    let posBias: [DynamicPosBiasBackward]
    let branchBias: [[Float]]
    let temperature: [Float]
    /// Operand site names: per branch (spatial) or one entry (channel): q, k, v, probs.
    public let operandSites: [[String]]
    /// Linear site names in execution order (qkv as one site; see `SiteQuantizers` for the split form).
    public var linearSites: [String] { ["\(prefix).attn.qkv", "\(prefix).attn.proj", "\(prefix).ffn.fc1", "\(prefix).ffn.fc2"] }

    init(weights w: [String: Tensor], index b: Int) {
        index = b
        let p = "layers.0.blocks.\(b)", a = "\(p).attn"
        prefix = p
        spatial = b % 2 == 0
        shifted = spatial && b > 0 && (b - 2) % 4 == 0
        func v(_ n: String) -> [Float] { w[n]!.data }
        norm1 = LayerNorm(weight: v("\(p).norm1.weight"), bias: v("\(p).norm1.bias"))
        norm2 = LayerNorm(weight: v("\(p).norm2.weight"), bias: v("\(p).norm2.bias"))
        sgNorm = LayerNorm(weight: v("\(p).ffn.sg.norm.weight"), bias: v("\(p).ffn.sg.norm.bias"))
        let C = 60, nHeads = 6, split = (8, 32)
        qkv = QKVBackward(weights: w, attention: a, dim: C)
        func lin(_ n: String) -> QuantLinear { .named(n, weights: w) }
        proj = lin("\(a).proj"); fc1 = lin("\(p).ffn.fc1"); fc2 = lin("\(p).ffn.fc2")
        dwConv = Convolution.Depthwise(weight: w["\(a).dwconv.0.weight"]!, bias: v("\(a).dwconv.0.bias"))
        dwConvB = DepthwiseConvBackward(weight: w["\(a).dwconv.0.weight"]!)
        dwBN = BatchNormEval(weight: v("\(a).dwconv.1.weight"), bias: v("\(a).dwconv.1.bias"),
                             runningMean: v("\(a).dwconv.1.running_mean"), runningVar: v("\(a).dwconv.1.running_var"))
        dwBNB = BatchNormEvalBackward(weight: v("\(a).dwconv.1.weight"), bias: v("\(a).dwconv.1.bias"),
                                      runningMean: v("\(a).dwconv.1.running_mean"), runningVar: v("\(a).dwconv.1.running_var"))
        gates = DATGatesBackward(w, a)
        sgConv = Convolution.Depthwise(weight: w["\(p).ffn.sg.conv.weight"]!, bias: v("\(p).ffn.sg.conv.bias"))
        sgConvB = DepthwiseConvBackward(weight: w["\(p).ffn.sg.conv.weight"]!)
        var pb: [DynamicPosBiasBackward] = [], bb: [[Float]] = [], ops: [[String]] = []
        if spatial {
            for br in 0..<2 {
                let (wh, ww) = br == 0 ? split : (split.1, split.0)
                let d = DynamicPosBiasBackward(w, "\(a).attns.\(br)", posDim: (C / 2 / 4) / 4, heads: nHeads / 2,
                                               entries: (2 * wh - 1) * (2 * ww - 1))
                pb.append(d)
                bb.append(DynamicPosBias.expand(table: d.table, heads: nHeads / 2, windowH: wh, windowW: ww))
                ops.append(["q", "k", "v", "probs"].map { "\(a).attns.\(br).\($0)" })
            }
            temperature = []
        } else {
            temperature = v("\(a).temperature")
            ops.append(["q", "k", "v", "probs"].map { "\(a).\($0)" })
        }
        posBias = pb; branchBias = bb; operandSites = ops
    }

    /// Every learnable parameter of this block (official names) with its shape.
    func registerParameters(_ g: ParameterGradients, weights w: [String: Tensor]) {
        let p = prefix, a = "\(p).attn"
        var names = ["\(p).norm1", "\(p).norm2", "\(a).qkv", "\(a).proj", "\(a).dwconv.0", "\(a).dwconv.1",
                     "\(p).ffn.fc1", "\(p).ffn.fc2", "\(p).ffn.sg.norm", "\(p).ffn.sg.conv"].flatMap { ["\($0).weight", "\($0).bias"] }
        names += DATGatesBackward.parameterNames(a)
        if spatial { for br in 0..<2 { names += DynamicPosBiasBackward.parameterNames("\(a).attns.\(br)") } }
        else { names.append("\(a).temperature") }
        for n in names { g.register(n, shape: w[n]!.shape) }
    }

    /// What the backward needs from one forward of this block.
    public final class Cache {
        let height: Int, width: Int
        var x: [Float] = [], xn1: [Float] = [], qkv: [Float] = []
        var qkvCaches: [QuantLinear.Cache] = []
        var windows: [WindowAttentionBackward.Cache] = []
        // channel attention
        var qn: [Float] = [], kn: [Float] = [], vt: [Float] = [], qInv: [Float] = [], kInv: [Float] = []
        var qQ: [Float]? = nil, kQ: [Float]? = nil, vQ: [Float]? = nil
        var gram: [Float] = [], probs: [Float] = [], probsQ: [Float]? = nil
        // both
        var attened: [Float] = [], dwOut: [Float] = [], bnOut: [Float] = [], convX: [Float] = []
        var cGate = DATGatesBackward.ChannelCache(), sGate = DATGatesBackward.SpatialCache()
        var mixed: [Float] = [], projCache = QuantLinear.Cache()
        var x1: [Float] = [], xn2: [Float] = [], fc1Cache = QuantLinear.Cache()
        var hidden: [Float] = [], act: [Float] = [], sgIn: [Float] = [], gc: [Float] = [], gated: [Float] = []
        var fc2Cache = QuantLinear.Cache()
        /// The block output.
        public internal(set) var output: [Float] = []
        init(height: Int, width: Int) { self.height = height; self.width = width }
    }

    /// Forward of x (L × 60 tokens of an h × w map); returns the cache (its `output` is the block output).
    public func forward(_ x: [Float], height h: Int, width w: Int, quantizers q: SiteQuantizers = .none) -> Cache {
        let L = h * w, C = dim
        let c = Cache(height: h, width: w)
        c.x = x
        c.xn1 = norm1.apply(x)
        c.qkv = Buffer.uninitialized(L * 3 * C)
        c.qkv.withUnsafeMutableBufferPointer { o in c.qkvCaches = qkv.forward(c.xn1, rows: L, out: o.baseAddress!, quantizers: q) }
        if spatial { spatialForward(c, quantizers: q) } else { channelForward(c, quantizers: q) }
        var a = Buffer.uninitialized(L * C)
        a.withUnsafeMutableBufferPointer { o in c.projCache = proj.forward(c.mixed, rows: L, out: o.baseAddress!, ldo: C, quantizers: q) }
        var x1 = x
        DATBlock.addInPlace(&x1, a)
        c.x1 = x1
        // SGFN
        c.xn2 = norm2.apply(x1)
        c.hidden = Buffer.uninitialized(L * 2 * C)
        c.hidden.withUnsafeMutableBufferPointer { o in c.fc1Cache = fc1.forward(c.xn2, rows: L, out: o.baseAddress!, ldo: 2 * C, quantizers: q) }
        c.act = c.hidden
        c.act.withUnsafeMutableBufferPointer { Activations.gelu($0.baseAddress!, count: $0.count) }
        c.sgIn = Buffer.uninitialized(L * C)
        c.act.withUnsafeBufferPointer { hp in c.sgIn.withUnsafeMutableBufferPointer { n in
            sgNorm.apply(hp.baseAddress! + C, inStride: 2 * C, rows: L, into: n.baseAddress!)
        }}
        c.gc = sgConv.apply(c.sgIn, height: h, width: w)
        c.gated = c.gc
        c.act.withUnsafeBufferPointer { hp in c.gated.withUnsafeMutableBufferPointer { g in
            let x1p = hp.baseAddress!, gp = g.baseAddress!
            Parallel.ranges(L, minPerChunk: 256) { r in for l in r { for ch in 0..<C { gp[l * C + ch] *= x1p[l * 2 * C + ch] } } }
        }}
        var f = Buffer.uninitialized(L * C)
        f.withUnsafeMutableBufferPointer { o in c.fc2Cache = fc2.forward(c.gated, rows: L, out: o.baseAddress!, ldo: C, quantizers: q) }
        DATBlock.addInPlace(&x1, f)
        c.output = x1
        return c
    }

    private func geometry(branch br: Int, height h: Int, width w: Int) -> WindowGeometry {
        let maxSplit = max(splitSize.0, splitSize.1)
        let hp = (h + maxSplit - 1) / maxSplit * maxSplit, wp = (w + maxSplit - 1) / maxSplit * maxSplit
        let (wh, ww) = br == 0 ? splitSize : (splitSize.1, splitSize.0)
        return WindowGeometry(height: h, width: w, paddedHeight: hp, paddedWidth: wp, windowH: wh, windowW: ww,
                              shiftH: shifted ? wh / 2 : 0, shiftW: shifted ? ww / 2 : 0)
    }

    private func windowOp(branch br: Int, height h: Int, width w: Int, quantizers q: SiteQuantizers) -> WindowAttentionBackward {
        let s = operandSites[br]
        var op = WindowAttentionBackward(geometry: geometry(branch: br, height: h, width: w), heads: heads / 2, headDim: headDim,
                                         scale: Float(pow(Double(headDim), -0.5)), bias: branchBias[br])
        op.qQuantizer = q.activation[s[0]]; op.kQuantizer = q.activation[s[1]]
        op.vQuantizer = q.activation[s[2]]; op.probsQuantizer = q.activation[s[3]]
        return op
    }

    private func dwconvForward(_ c: Cache) {
        let h = c.height, w = c.width, L = h * w, C = dim
        c.dwOut = [Float](repeating: 0, count: L * C)
        c.qkv.withUnsafeBufferPointer { q in c.dwOut.withUnsafeMutableBufferPointer { o in
            dwConv.apply(q.baseAddress! + 2 * C, inputStride: 3 * C, height: h, width: w, into: o.baseAddress!)
        }}
        c.bnOut = c.dwOut
        c.bnOut.withUnsafeMutableBufferPointer { dwBN.apply($0.baseAddress!, rows: L) }
        c.convX = c.bnOut
        c.convX.withUnsafeMutableBufferPointer { Activations.gelu($0.baseAddress!, count: $0.count) }
    }

    private func spatialForward(_ c: Cache, quantizers q: SiteQuantizers) {
        let h = c.height, w = c.width, L = h * w, C = dim, half = C / 2
        c.attened = [Float](repeating: 0, count: L * C)
        c.qkv.withUnsafeBufferPointer { qp in c.attened.withUnsafeMutableBufferPointer { o in
            c.windows = (0..<2).map { br in
                windowOp(branch: br, height: h, width: w, quantizers: q)
                    .forward(qkv: qp.baseAddress!, ld: 3 * C, qOff: br * half, kOff: C + br * half, vOff: 2 * C + br * half,
                             out: o.baseAddress!, ldo: C, outOff: br * half)
            }
        }}
        dwconvForward(c)
        c.cGate = gates.channelGate(c.convX, tokens: L)
        c.sGate = gates.spatialGate(c.attened, tokens: L)
        var mixed = c.convX
        DATBlock.combine(c.attened, &mixed, tokens: L, channels: C, tokenGate: c.sGate.gate, channelGate: c.cGate.gate, tokenGateOnA: false)
        c.mixed = mixed
    }

    private func channelForward(_ c: Cache, quantizers qz: SiteQuantizers) {
        let h = c.height, w = c.width, L = h * w, C = dim, hd = headDim
        var q = [Float](repeating: 0, count: L * C), k = q, v = q
        c.qkv.withUnsafeBufferPointer { src in
            q.withUnsafeMutableBufferPointer { qp in k.withUnsafeMutableBufferPointer { kp in v.withUnsafeMutableBufferPointer { vp in
                let s = src.baseAddress!, qo = qp.baseAddress!, ko = kp.baseAddress!, vo = vp.baseAddress!
                Parallel.ranges(L, minPerChunk: 4096) { r in
                    for l in r {
                        (qo + l * C).update(from: s + l * 3 * C, count: C)
                        (ko + l * C).update(from: s + l * 3 * C + C, count: C)
                        (vo + l * C).update(from: s + l * 3 * C + 2 * C, count: C)
                    }
                }
            }}}
        }
        c.qInv = Self.inverseNorms(q, rows: L, cols: C)
        c.kInv = Self.inverseNorms(k, rows: L, cols: C)
        ChannelOps.normalizeColumns(&q, rows: L, cols: C)
        ChannelOps.normalizeColumns(&k, rows: L, cols: C)
        c.qn = q; c.kn = k; c.vt = v
        let s = operandSites[0]
        c.qQ = Self.quantize(q, qz.activation[s[0]], rows: L, cols: C)
        c.kQ = Self.quantize(k, qz.activation[s[1]], rows: L, cols: C)
        c.vQ = Self.quantize(v, qz.activation[s[2]], rows: L, cols: C)
        c.gram = ChannelOps.gram(c.qQ ?? q, c.kQ ?? k, rows: L, heads: heads, headDim: hd)
        var probs = c.gram
        for hh in 0..<heads { let t = temperature[hh]; for i in 0..<(hd * hd) { probs[hh * hd * hd + i] *= t } }
        probs = Activations.softmaxRows(probs, rows: C, cols: hd)
        c.probs = probs
        c.probsQ = Self.quantize(probs, qz.activation[s[3]], rows: C, cols: hd)
        let pq = c.probsQ ?? probs
        var bd = [Float](repeating: 0, count: C * C)
        for hh in 0..<heads { for i in 0..<hd { for j in 0..<hd { bd[(hh * hd + j) * C + hh * hd + i] = pq[(hh * hd + i) * hd + j] } } }
        c.attened = [Float](repeating: 0, count: L * C)
        (c.vQ ?? v).withUnsafeBufferPointer { vp in bd.withUnsafeBufferPointer { bp in c.attened.withUnsafeMutableBufferPointer { o in
            GEMM.multiply(m: L, n: C, k: C, a: vp.baseAddress!, lda: C, b: bp.baseAddress!, ldb: C, transB: false, c: o.baseAddress!, ldc: C)
        }}}
        dwconvForward(c)
        c.sGate = gates.spatialGate(c.convX, tokens: L)
        c.cGate = gates.channelGate(c.attened, tokens: L)
        var mixed = c.convX
        DATBlock.combine(c.attened, &mixed, tokens: L, channels: C, tokenGate: c.sGate.gate, channelGate: c.cGate.gate, tokenGateOnA: true)
        c.mixed = mixed
    }

    /// 1 / max(‖column‖₂, 1e-12) as `ChannelOps.normalizeColumns` computes it.
    static func inverseNorms(_ x: [Float], rows: Int, cols: Int) -> [Float] {
        ChannelOps.columnSums(x, rows: rows, cols: cols, squared: true).map { Float(1 / max($0.squareRoot(), 1e-12)) }
    }

    static func quantize(_ x: [Float], _ q: DifferentiableSiteQuantizer?, rows: Int, cols: Int) -> [Float]? {
        guard let q else { return nil }
        var y = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { a in y.withUnsafeMutableBufferPointer { b in q.quantize(a.baseAddress!, into: b.baseAddress!, rows: rows, cols: cols) } }
        return y
    }

    static func quantBackward(_ q: DifferentiableSiteQuantizer?, input x: [Float], _ g: inout [Float], rows: Int, cols: Int) {
        guard let q else { return }
        x.withUnsafeBufferPointer { xp in g.withUnsafeMutableBufferPointer { gp in
            q.backward(input: xp.baseAddress!, gradOutput: UnsafePointer(gp.baseAddress!), gradInput: gp.baseAddress!, rows: rows, cols: cols)
        }}
    }

    // MARK: - Backward

    /// dL/d block input from dL/d block output; adds dL/d parameters into `grads` (registered by the caller).
    public func backward(_ c: Cache, gradOutput dOut: [Float], quantizers q: SiteQuantizers = .none, grads: ParameterGradients) -> [Float] {
        let h = c.height, w = c.width, L = h * w, C = dim, p = prefix
        // SGFN: out = x1 + fc2(gated), gated = act[:, :C] ⊙ dw(LN(act[:, C:])), act = GELU(fc1(LN2(x1))).
        var dGated = [Float](repeating: 0, count: L * C)
        dOut.withUnsafeBufferPointer { g in dGated.withUnsafeMutableBufferPointer { d in
            fc2.backward(c.fc2Cache, x: c.gated, dy: g.baseAddress!, ldy: C, rows: L, dx: d.baseAddress!, accumulate: false, quantizers: q, grads: grads)
        }}
        var dAct = [Float](repeating: 0, count: L * 2 * C)
        var dGc = [Float](repeating: 0, count: L * C)
        dGated.withUnsafeBufferPointer { dg in c.act.withUnsafeBufferPointer { ap in c.gc.withUnsafeBufferPointer { gcp in
            dAct.withUnsafeMutableBufferPointer { da in dGc.withUnsafeMutableBufferPointer { dgc in
                let G = dg.baseAddress!, A = ap.baseAddress!, GC = gcp.baseAddress!, DA = da.baseAddress!, DGC = dgc.baseAddress!
                Parallel.ranges(L, minPerChunk: 256) { r in for l in r { for ch in 0..<C {
                    DA[l * 2 * C + ch] = G[l * C + ch] * GC[l * C + ch]
                    DGC[l * C + ch] = G[l * C + ch] * A[l * 2 * C + ch]
                }}}
            }}
        }}}
        var dSg = [Float](repeating: 0, count: L * C)
        dGc.withUnsafeBufferPointer { g in dSg.withUnsafeMutableBufferPointer { d in c.sgIn.withUnsafeBufferPointer { xp in
            sgConvB.inputGradient(g.baseAddress!, height: h, width: w, into: d.baseAddress!)
            grads.with("\(p).ffn.sg.conv.weight") { dw in grads.with("\(p).ffn.sg.conv.bias") { db in
                sgConvB.parameterGradients(x: xp.baseAddress!, ldx: C, dy: g.baseAddress!, height: h, width: w, dW: dw, db: db)
            }}
        }}}
        c.act.withUnsafeBufferPointer { ap in dSg.withUnsafeBufferPointer { g in dAct.withUnsafeMutableBufferPointer { da in
            grads.with("\(p).ffn.sg.norm.weight") { dw in grads.with("\(p).ffn.sg.norm.bias") { db in
                LayerNormBackward.backward(x: ap.baseAddress! + C, ldx: 2 * C, dy: g.baseAddress!, ldy: C, rows: L, gamma: sgNorm.weight,
                                           dx: da.baseAddress! + C, lddx: 2 * C, dGamma: dw, dBeta: db)
            }}
        }}}
        c.hidden.withUnsafeBufferPointer { hp in dAct.withUnsafeMutableBufferPointer { da in
            ActivationBackward.gelu(x: hp.baseAddress!, dy: da.baseAddress!, dx: da.baseAddress!, count: da.count)
        }}
        var dXn2 = [Float](repeating: 0, count: L * C)
        dAct.withUnsafeBufferPointer { g in dXn2.withUnsafeMutableBufferPointer { d in
            fc1.backward(c.fc1Cache, x: c.xn2, dy: g.baseAddress!, ldy: 2 * C, rows: L, dx: d.baseAddress!, accumulate: false, quantizers: q, grads: grads)
        }}
        var dX1 = dOut
        LayerNormBackward.accumulate(norm2, "\(p).norm2", x: c.x1, dy: dXn2, into: &dX1, rows: L, grads: grads)
        // Attention: x1 = x + proj(mixed).
        var dMixed = [Float](repeating: 0, count: L * C)
        dX1.withUnsafeBufferPointer { g in dMixed.withUnsafeMutableBufferPointer { d in
            proj.backward(c.projCache, x: c.mixed, dy: g.baseAddress!, ldy: C, rows: L, dx: d.baseAddress!, accumulate: false, quantizers: q, grads: grads)
        }}
        var dAtt = [Float](repeating: 0, count: L * C), dConv = dAtt
        combineBackward(c, dMixed: dMixed, dAtt: &dAtt, dConv: &dConv, grads: grads)
        var dQKV = [Float](repeating: 0, count: L * 3 * C)
        dwconvBackward(c, dConvX: dConv, dQKV: &dQKV, grads: grads)
        if spatial { spatialAttentionBackward(c, dAtt: dAtt, dQKV: &dQKV, quantizers: q, grads: grads) }
        else { channelAttentionBackward(c, dAtt: dAtt, dQKV: &dQKV, quantizers: q, grads: grads) }
        let dXn1 = qkv.backward(c.qkvCaches, x: c.xn1, dQKV: dQKV, rows: L, quantizers: q, grads: grads)
        var dX = dX1
        LayerNormBackward.accumulate(norm1, "\(p).norm1", x: c.x, dy: dXn1, into: &dX, rows: L, grads: grads)
        return dX
    }

    /// mixed = T ⊙ tokenGate[l] + U ⊙ channelGate[c]: spatial block T = conv, U = attened, token gate of attened,
    /// channel gate of conv; channel block T = attened, U = conv, token gate of conv, channel gate of attened.
    private func combineBackward(_ c: Cache, dMixed: [Float], dAtt: inout [Float], dConv: inout [Float], grads: ParameterGradients) {
        let L = c.height * c.width, C = dim
        let tg = c.sGate.gate, cg = c.cGate.gate
        // Token-gated operand and channel-gated operand.
        let tokenIsConv = spatial
        var dTok = [Float](repeating: 0, count: L), dCh = [Float](repeating: 0, count: C)
        let T = tokenIsConv ? c.convX : c.attened, U = tokenIsConv ? c.attened : c.convX
        var dT = [Float](repeating: 0, count: L * C), dU = dT
        dMixed.withUnsafeBufferPointer { gp in T.withUnsafeBufferPointer { tp in U.withUnsafeBufferPointer { up in
            dT.withUnsafeMutableBufferPointer { dtp in dU.withUnsafeMutableBufferPointer { dup in dTok.withUnsafeMutableBufferPointer { dk in
                let G = gp.baseAddress!, Tp = tp.baseAddress!, Up = up.baseAddress!, DT = dtp.baseAddress!, DU = dup.baseAddress!, DK = dk.baseAddress!
                Parallel.ranges(L, minPerChunk: 256) { r in
                    for l in r {
                        var s: Float = 0
                        let t = tg[l]
                        for ch in 0..<C {
                            let i = l * C + ch
                            DT[i] = G[i] * t
                            DU[i] = G[i] * cg[ch]
                            s += G[i] * Tp[i]
                        }
                        DK[l] = s
                    }
                }
                dCh.withUnsafeMutableBufferPointer { dc in
                    BackwardReduce.columnSums(rows: L, cols: C, into: dc.baseAddress!) { l, p in
                        for ch in 0..<C { p[ch] += G[l * C + ch] * Up[l * C + ch] }
                    }
                }
            }}}
        }}}
        // In both block kinds the token gate is computed from U and the channel gate from T
        // (spatial: σ(S-map(attened)), σ(C-map(conv)); channel: σ(S-map(conv)), σ(C-map(attened))).
        dU.withUnsafeMutableBufferPointer { gates.spatialBackward(c.sGate, x: U, dGate: dTok, tokens: L, dx: $0.baseAddress!, grads: grads) }
        dT.withUnsafeMutableBufferPointer { gates.channelBackward(c.cGate, dGate: dCh, tokens: L, dx: $0.baseAddress!, grads: grads) }
        if tokenIsConv { dConv = dT; dAtt = dU } else { dAtt = dT; dConv = dU }
    }

    /// conv = GELU(BN(dw(v))), v = qkv[:, 2C..<3C] unpadded and unquantized.
    private func dwconvBackward(_ c: Cache, dConvX: [Float], dQKV: inout [Float], grads: ParameterGradients) {
        let h = c.height, w = c.width, L = h * w, C = dim, a = "\(prefix).attn"
        let dBN = ActivationBackward.gelu(x: c.bnOut, dy: dConvX)
        var dDw = [Float](repeating: 0, count: L * C)
        c.dwOut.withUnsafeBufferPointer { xp in dBN.withUnsafeBufferPointer { g in dDw.withUnsafeMutableBufferPointer { d in
            grads.with("\(a).dwconv.1.weight") { dw in grads.with("\(a).dwconv.1.bias") { db in
                dwBNB.backward(x: xp.baseAddress!, dy: g.baseAddress!, rows: L, dx: d.baseAddress!, dGamma: dw, dBeta: db)
            }}
        }}}
        var dV = [Float](repeating: 0, count: L * C)
        dDw.withUnsafeBufferPointer { g in dV.withUnsafeMutableBufferPointer { d in c.qkv.withUnsafeBufferPointer { q in
            dwConvB.inputGradient(g.baseAddress!, height: h, width: w, into: d.baseAddress!)
            grads.with("\(a).dwconv.0.weight") { dw in grads.with("\(a).dwconv.0.bias") { db in
                dwConvB.parameterGradients(x: q.baseAddress! + 2 * C, ldx: 3 * C, dy: g.baseAddress!, height: h, width: w, dW: dw, db: db)
            }}
        }}}
        dV.withUnsafeBufferPointer { vp in dQKV.withUnsafeMutableBufferPointer { d in
            let V = vp.baseAddress!, D = d.baseAddress!
            Parallel.ranges(L, minPerChunk: 512) { r in for l in r { for ch in 0..<C { D[l * 3 * C + 2 * C + ch] += V[l * C + ch] } } }
        }}
    }

    private func spatialAttentionBackward(_ c: Cache, dAtt: [Float], dQKV: inout [Float], quantizers q: SiteQuantizers, grads: ParameterGradients) {
        let h = c.height, w = c.width, C = dim, half = C / 2
        for br in 0..<2 {
            let op = windowOp(branch: br, height: h, width: w, quantizers: q)
            let N = op.geometry.tokensPerWindow
            var dBias = [Float](repeating: 0, count: op.heads * N * N)
            dAtt.withUnsafeBufferPointer { g in dQKV.withUnsafeMutableBufferPointer { d in dBias.withUnsafeMutableBufferPointer { db in
                op.backward(c.windows[br], dOut: g.baseAddress!, ldo: C, outOff: br * half, dqkv: d.baseAddress!, ld: 3 * C,
                            qOff: br * half, kOff: C + br * half, vOff: 2 * C + br * half, dBias: db.baseAddress!)
            }}}
            let dTable = WindowAttentionBackward.foldBiasGradient(dBias, heads: op.heads, windowH: op.geometry.windowH, windowW: op.geometry.windowW)
            posBias[br].backward(dTable: dTable, grads: grads)
        }
    }

    private func channelAttentionBackward(_ c: Cache, dAtt: [Float], dQKV: inout [Float], quantizers qz: SiteQuantizers, grads: ParameterGradients) {
        let L = c.height * c.width, C = dim, hd = headDim, H = heads
        let s = operandSites[0]
        let pq = c.probsQ ?? c.probs, vq = c.vQ ?? c.vt, qq = c.qQ ?? c.qn, kq = c.kQ ?? c.kn
        // attened = v′ · blockdiag(P′): dP′ = Gram(dA, v′), dv′ = dA · blockdiag(P′).
        var dP = ChannelOps.gram(dAtt, vq, rows: L, heads: H, headDim: hd)
        var bd = [Float](repeating: 0, count: C * C)
        for hh in 0..<H { for i in 0..<hd { for j in 0..<hd { bd[(hh * hd + i) * C + hh * hd + j] = pq[(hh * hd + i) * hd + j] } } }
        var dV = Self.times(dAtt, bd, rows: L, cols: C)
        Self.quantBackward(qz.activation[s[3]], input: c.probs, &dP, rows: C, cols: hd)
        Self.quantBackward(qz.activation[s[2]], input: c.vt, &dV, rows: L, cols: C)
        let dLogits = SoftmaxBackward.backward(probs: c.probs, dy: dP, rows: C, cols: hd)
        var dG = dLogits
        var dTemp = [Float](repeating: 0, count: H)
        for hh in 0..<H {
            var acc = 0.0
            for i in 0..<(hd * hd) {
                acc += Double(dLogits[hh * hd * hd + i]) * Double(c.gram[hh * hd * hd + i])
                dG[hh * hd * hd + i] *= temperature[hh]
            }
            dTemp[hh] = Float(acc)
        }
        grads.add("\(prefix).attn.temperature", dTemp)
        // G[h][i][j] = Σ_l q′[l, h·10+i]·k′[l, h·10+j].
        var b1 = [Float](repeating: 0, count: C * C), b2 = b1
        for hh in 0..<H { for i in 0..<hd { for j in 0..<hd {
            let g = dG[(hh * hd + i) * hd + j]
            b1[(hh * hd + j) * C + hh * hd + i] = g   // dq′ = k′ · b1
            b2[(hh * hd + i) * C + hh * hd + j] = g   // dk′ = q′ · b2
        }}}
        var dQ = Self.times(kq, b1, rows: L, cols: C), dK = Self.times(qq, b2, rows: L, cols: C)
        Self.quantBackward(qz.activation[s[0]], input: c.qn, &dQ, rows: L, cols: C)
        Self.quantBackward(qz.activation[s[1]], input: c.kn, &dK, rows: L, cols: C)
        let dq = Self.normalizeBackward(y: c.qn, inv: c.qInv, dy: dQ, rows: L, cols: C)
        let dk = Self.normalizeBackward(y: c.kn, inv: c.kInv, dy: dK, rows: L, cols: C)
        dq.withUnsafeBufferPointer { qp in dk.withUnsafeBufferPointer { kp in dV.withUnsafeBufferPointer { vp in dQKV.withUnsafeMutableBufferPointer { d in
            let Q = qp.baseAddress!, K = kp.baseAddress!, V = vp.baseAddress!, D = d.baseAddress!
            Parallel.ranges(L, minPerChunk: 512) { r in for l in r {
                let o = D + l * 3 * C
                for ch in 0..<C { o[ch] += Q[l * C + ch]; o[C + ch] += K[l * C + ch]; o[2 * C + ch] += V[l * C + ch] }
            }}
        }}}}
    }

    /// x (rows × cols) · b (cols × cols).
    static func times(_ x: [Float], _ b: [Float], rows: Int, cols: Int) -> [Float] {
        var out = [Float](repeating: 0, count: rows * cols)
        x.withUnsafeBufferPointer { xp in b.withUnsafeBufferPointer { bp in out.withUnsafeMutableBufferPointer { o in
            GEMM.multiply(m: rows, n: cols, k: cols, a: xp.baseAddress!, lda: cols, b: bp.baseAddress!, ldb: cols, transB: false,
                          c: o.baseAddress!, ldc: cols)
        }}}
        return out
    }

    /// y = x·inv per column (inv = 1/max(‖x‖, ε)): dx = inv·(dy − y·Σ_l y·dy) where ‖x‖ > ε, inv·dy where clamped.
    static func normalizeBackward(y: [Float], inv: [Float], dy: [Float], rows: Int, cols: Int) -> [Float] {
        var s = [Float](repeating: 0, count: cols)
        y.withUnsafeBufferPointer { yp in dy.withUnsafeBufferPointer { gp in s.withUnsafeMutableBufferPointer { sp in
            let Y = yp.baseAddress!, G = gp.baseAddress!
            BackwardReduce.columnSums(rows: rows, cols: cols, into: sp.baseAddress!) { r, p in
                for c in 0..<cols { p[c] += Y[r * cols + c] * G[r * cols + c] }
            }
        }}}
        let clamped = inv.map { $0 >= 1e12 }
        var dx = [Float](repeating: 0, count: rows * cols)
        y.withUnsafeBufferPointer { yp in dy.withUnsafeBufferPointer { gp in dx.withUnsafeMutableBufferPointer { d in
            let Y = yp.baseAddress!, G = gp.baseAddress!, D = d.baseAddress!
            Parallel.ranges(rows, minPerChunk: 512) { r in for l in r { for c in 0..<cols {
                let i = l * cols + c
                D[i] = clamped[c] ? inv[c] * G[i] : inv[c] * (G[i] - Y[i] * s[c])
            }}}
        }}}
        return dx
    }
}

import CKernels
import Foundation
import HarmoQ
import SRIO

/// One DATB block of DAT-light: x += attn(norm1(x)); x += SGFN(norm2(x)).
/// Even blocks use spatial window attention (two branches of 3 heads, 8×32 and 32×8 windows,
/// q/k/v zero-padded to multiples of 32), odd blocks channel attention (6 heads, 10×10 per head).
final class DATBlock {
    let index: Int
    let spatial: Bool
    let shifted: Bool
    let dim = 60, heads = 6, headDim = 10
    let splitSize = (8, 32)

    let norm1: LayerNorm, norm2: LayerNorm
    let qkv: QKVProjection, proj: Linear, fc1: Linear, fc2: Linear
    let dwconv: DepthwiseBNGELU
    let gates: InteractionGates
    let sgNorm: LayerNorm
    let sgConv: Convolution.Depthwise
    /// Spatial: per branch, heads × N × N position bias.
    var branchBias: [[Float]] = []
    /// Channel: per-head temperature.
    var temperature: [Float] = []

    // Site indices.
    var projSite = 0, fc1Site = 0, fc2Site = 0
    var operandSites: [[Int]] = []   // per branch (spatial) or one entry (channel): q, k, v, probs

    init(_ s: WeightStore, prefix p: String, index b: Int, splitQKV: Bool, sites: SiteTable) {
        index = b
        spatial = b % 2 == 0
        // rg_idx 0: shifted when b > 0 and (b − 2) % 4 == 0 (blocks 2, 6, 10, 14).
        shifted = spatial && b > 0 && (b - 2) % 4 == 0
        let a = "\(p).attn"
        norm1 = LayerNorm(weight: s.vector("\(p).norm1.weight", dim), bias: s.vector("\(p).norm1.bias", dim))
        norm2 = LayerNorm(weight: s.vector("\(p).norm2.weight", dim), bias: s.vector("\(p).norm2.bias", dim))
        qkv = QKVProjection(weight: s.take("\(a).qkv.weight", [3 * dim, dim]), bias: s.take("\(a).qkv.bias", [3 * dim]),
                            split: splitQKV)
        proj = Linear(weight: s.take("\(a).proj.weight", [dim, dim]), bias: s.take("\(a).proj.bias", [dim]))
        dwconv = DepthwiseBNGELU(s, "\(a).dwconv", dim: dim)
        gates = InteractionGates(s, a, dim: dim)
        fc1 = Linear(weight: s.take("\(p).ffn.fc1.weight", [2 * dim, dim]), bias: s.take("\(p).ffn.fc1.bias", [2 * dim]))
        fc2 = Linear(weight: s.take("\(p).ffn.fc2.weight", [dim, dim]), bias: s.take("\(p).ffn.fc2.bias", [dim]))
        sgNorm = LayerNorm(weight: s.vector("\(p).ffn.sg.norm.weight", dim), bias: s.vector("\(p).ffn.sg.norm.bias", dim))
        sgConv = Convolution.Depthwise(weight: s.take("\(p).ffn.sg.conv.weight", [dim, 1, 3, 3]),
                                       bias: s.vector("\(p).ffn.sg.conv.bias", dim))

        qkv.register(sites, name: "\(a).qkv")
        if spatial {
            for br in 0..<2 {
                let (wh, ww) = br == 0 ? splitSize : (splitSize.1, splitSize.0)
                let entries = (2 * wh - 1) * (2 * ww - 1)
                let t = DynamicPosBias.table(s, "\(a).attns.\(br)", posDim: (dim / 2 / 4) / 4, heads: heads / 2, entries: entries)
                branchBias.append(DynamicPosBias.expand(table: t, heads: heads / 2, windowH: wh, windowW: ww))
                let n = "\(a).attns.\(br)"
                operandSites.append([sites.addOperand("\(n).q"), sites.addOperand("\(n).k"),
                                     sites.addOperand("\(n).v"), sites.addOperand("\(n).probs")])
            }
        } else {
            temperature = s.take("\(a).temperature", [heads, 1, 1]).data
            operandSites.append([sites.addOperand("\(a).q"), sites.addOperand("\(a).k"),
                                 sites.addOperand("\(a).v"), sites.addOperand("\(a).probs")])
        }
        projSite = sites.addLinear("\(a).proj", proj)
        fc1Site = sites.addLinear("\(p).ffn.fc1", fc1)
        fc2Site = sites.addLinear("\(p).ffn.fc2", fc2)
    }

    /// x: L × 60 tokens of an h × w map, updated in place. `attnOut` receives attn(norm1(x)).
    func forward(_ x: inout [Float], height h: Int, width w: Int, hook: ActivationHook?, sites: SiteTable,
                 attnOut: ((([Float]) -> Void))? = nil) {
        let L = h * w, C = dim
        var xn = norm1.apply(x)
        let qkvOut = qkv.apply(&xn, rows: L, hook: hook, table: sites)

        var mixed = spatial ? spatialAttention(qkvOut, height: h, width: w, hook: hook, sites: sites)
                            : channelAttention(qkvOut, height: h, width: w, hook: hook, sites: sites)
        var a = Buffer.uninitialized(L * C)
        mixed.withUnsafeMutableBufferPointer { sites.call(hook, projSite, $0.baseAddress!, rows: L, cols: C) }
        mixed.withUnsafeBufferPointer { i in a.withUnsafeMutableBufferPointer { o in
            proj.apply(i.baseAddress!, rows: L, into: o.baseAddress!) } }
        attnOut?(a)
        DATBlock.addInPlace(&x, a)

        // SGFN
        var xn2 = norm2.apply(x)
        var hidden = Buffer.uninitialized(L * 2 * C)
        xn2.withUnsafeMutableBufferPointer { sites.call(hook, fc1Site, $0.baseAddress!, rows: L, cols: C) }
        xn2.withUnsafeBufferPointer { i in hidden.withUnsafeMutableBufferPointer { o in
            fc1.apply(i.baseAddress!, rows: L, into: o.baseAddress!)
            Activations.gelu(o.baseAddress!, count: o.count)
        } }
        var normed = Buffer.uninitialized(L * C)
        var gated = Buffer.uninitialized(L * C)
        hidden.withUnsafeBufferPointer { hp in
            normed.withUnsafeMutableBufferPointer { n in
                sgNorm.apply(hp.baseAddress! + C, inStride: 2 * C, rows: L, into: n.baseAddress!)
            }
            normed.withUnsafeBufferPointer { n in gated.withUnsafeMutableBufferPointer { g in
                sgConv.apply(n.baseAddress!, height: h, width: w, into: g.baseAddress!)
                let x1 = hp.baseAddress!, gp = g.baseAddress!
                Parallel.ranges(L, minPerChunk: 256) { r in
                    for l in r { for c in 0..<C { gp[l * C + c] *= x1[l * 2 * C + c] } }
                }
            }}
        }
        var f = Buffer.uninitialized(L * C)
        gated.withUnsafeMutableBufferPointer { sites.call(hook, fc2Site, $0.baseAddress!, rows: L, cols: C) }
        gated.withUnsafeBufferPointer { i in f.withUnsafeMutableBufferPointer { o in
            fc2.apply(i.baseAddress!, rows: L, into: o.baseAddress!) } }
        DATBlock.addInPlace(&x, f)
    }

    /// x += y, elementwise, in parallel chunks.
    static func addInPlace(_ x: inout [Float], _ y: [Float]) {
        x.withUnsafeMutableBufferPointer { xp in y.withUnsafeBufferPointer { yp in
            let xb = xp.baseAddress!, yb = yp.baseAddress!
            Parallel.elementwise(xp.count) { r in for i in r { xb[i] += yb[i] } }
        }}
    }

    /// out[l, c] = a[l, c]·ga(l, c) + b[l, c]·gb(l, c) with per-token or per-channel gates, into b.
    static func combine(_ a: [Float], _ b: inout [Float], tokens L: Int, channels C: Int,
                        tokenGate: [Float], channelGate: [Float], tokenGateOnA: Bool) {
        a.withUnsafeBufferPointer { ap in b.withUnsafeMutableBufferPointer { bp in
            tokenGate.withUnsafeBufferPointer { tg in channelGate.withUnsafeBufferPointer { cg in
                let A = ap.baseAddress!, B = bp.baseAddress!, T = tg.baseAddress!, G = cg.baseAddress!
                Parallel.ranges(L, minPerChunk: 256) { r in
                    for l in r {
                        let t = T[l]
                        for c in 0..<C {
                            let i = l * C + c
                            // Spatial block: attened·σ(C-map)[c] + σ(S-map)[l]·conv; channel block:
                            // attened·σ(S-map)[l] + conv·σ(C-map)[c].
                            B[i] = tokenGateOnA ? A[i] * t + B[i] * G[c] : A[i] * G[c] + t * B[i]
                        }
                    }
                }
            }}
        }}
    }

    /// q is multiplied by head_dim^−0.5 before q·kᵀ.
    var attentionScale: Float { Float(pow(Double(headDim), -0.5)) }

    /// Windows of spatial branch `br` (0: 8×32, 1: 32×8) on an h × w grid zero-padded to multiples of 32, shifted by
    /// half a window in the shifted blocks.
    func windowGeometry(branch br: Int, height h: Int, width w: Int) -> WindowGeometry {
        let maxSplit = max(splitSize.0, splitSize.1)
        let hp = (h + maxSplit - 1) / maxSplit * maxSplit, wp = (w + maxSplit - 1) / maxSplit * maxSplit
        let (wh, ww) = br == 0 ? splitSize : (splitSize.1, splitSize.0)
        return WindowGeometry(height: h, width: w, paddedHeight: hp, paddedWidth: wp, windowH: wh, windowW: ww,
                              shiftH: shifted ? wh / 2 : 0, shiftW: shifted ? ww / 2 : 0)
    }

    /// Axial spatial attention + dwconv branch + adaptive interaction; returns the proj input.
    private func spatialAttention(_ qkv: [Float], height h: Int, width w: Int,
                                  hook: ActivationHook?, sites: SiteTable) -> [Float] {
        let L = h * w, C = dim, half = C / 2
        var attened = [Float](repeating: 0, count: L * C)
        qkv.withUnsafeBufferPointer { q in attened.withUnsafeMutableBufferPointer { o in
            for br in 0..<2 {
                let geo = windowGeometry(branch: br, height: h, width: w)
                let s = operandSites[br]
                let att = WindowAttention(geometry: geo, heads: heads / 2, headDim: headDim,
                                          scale: attentionScale, bias: branchBias[br],
                                          qSite: s[0], kSite: s[1], vSite: s[2], probsSite: s[3])
                att.run(qkv: q.baseAddress!, ld: 3 * C, qOff: br * half, kOff: C + br * half, vOff: 2 * C + br * half,
                        out: o.baseAddress!, ldo: C, outOff: br * half, hook: hook, table: sites)
            }
        }}
        var convX = qkv.withUnsafeBufferPointer { dwconv.apply($0.baseAddress! + 2 * C, ld: 3 * C, height: h, width: w) }
        let cGate = gates.channelGate(convX, tokens: L)
        let sGate = gates.spatialGate(attened, tokens: L)
        DATBlock.combine(attened, &convX, tokens: L, channels: C, tokenGate: sGate, channelGate: cGate, tokenGateOnA: false)
        return convX
    }

    /// Axial channel attention (XCiT-style) + dwconv branch + adaptive interaction.
    /// q, k, v are handed to the hook token-major: [tokens, heads·10], q and k already L2-normalised
    /// along the tokens; probs as [heads·10, 10].
    private func channelAttention(_ qkv: [Float], height h: Int, width w: Int,
                                  hook: ActivationHook?, sites: SiteTable) -> [Float] {
        let L = h * w, C = dim, hd = headDim
        var q = [Float](repeating: 0, count: L * C), k = q, v = q
        qkv.withUnsafeBufferPointer { src in
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
        // F.normalize along tokens: x / max(‖x‖₂, 1e-12), per channel.
        ChannelOps.normalizeColumns(&q, rows: L, cols: C)
        ChannelOps.normalizeColumns(&k, rows: L, cols: C)
        let s = operandSites[0]
        q.withUnsafeMutableBufferPointer { sites.call(hook, s[0], $0.baseAddress!, rows: L, cols: C) }
        k.withUnsafeMutableBufferPointer { sites.call(hook, s[1], $0.baseAddress!, rows: L, cols: C) }
        v.withUnsafeMutableBufferPointer { sites.call(hook, s[2], $0.baseAddress!, rows: L, cols: C) }
        let ox = sites.operandExecutor
        let (sq, sk, sv, sp) = (sites.sites[s[0]], sites.sites[s[1]], sites.sites[s[2]], sites.sites[s[3]])
        var probs: [Float]
        if let x = ox, let pair = x.pair(sq, sk) {
            probs = channelGram(q: &q, k: &k, quantizers: pair, executor: x, rows: L, sites: (sq, sk))
        } else {
            probs = ChannelOps.gram(q, k, rows: L, heads: heads, headDim: hd)
        }
        for hh in 0..<heads {
            let t = temperature[hh]
            for i in 0..<(hd * hd) { probs[hh * hd * hd + i] *= t }
        }
        probs = Activations.softmaxRows(probs, rows: C, cols: hd)
        probs.withUnsafeMutableBufferPointer { sites.call(hook, s[3], $0.baseAddress!, rows: C, cols: hd) }
        var attened = [Float](repeating: 0, count: L * C)
        if let x = ox, let (pq, vq) = x.pair(sp, sv) {
            channelProbsV(probs: &probs, v: &v, quantizers: (pq, vq), executor: x, rows: L, into: &attened, sites: (sp, sv))
        } else {
            ChannelOps.probsTimesV(probs, v, rows: L, heads: heads, headDim: hd, into: &attened)
        }
        var convX = qkv.withUnsafeBufferPointer { dwconv.apply($0.baseAddress! + 2 * C, ld: 3 * C, height: h, width: w) }
        let sGate = gates.spatialGate(convX, tokens: L)
        let cGate = gates.channelGate(attened, tokens: L)
        DATBlock.combine(attened, &convX, tokens: L, channels: C, tokenGate: sGate, channelGate: cGate, tokenGateOnA: true)
        return convX
    }

    /// q·kᵀ of channel attention (per head, hd × hd, summed over the L tokens) with both operands quantized by the
    /// operand executor. Exact path: S from the codes (the engine's Gram on integer-valued Floats, or the executor's
    /// kernel), then fl(fl(Δq·Δk)·S); exact when every partial sum is ≤ 2²⁴: the static bound max|cq|·max|ck|·L, or
    /// else the Cauchy–Schwarz bound of the actual codes (max column norm of cq times that of ck). Float path
    /// otherwise: q ← Q(q), k ← Q(k) in place, float Gram. The L2 normalisation ran before (in float, on the raw q, k:
    /// the quantized operands are the normalised ones); the temperature multiplies the result afterwards, in float.
    private func channelGram(q: inout [Float], k: inout [Float], quantizers: (Quantizer, Quantizer),
                             executor x: OperandProductExecutor, rows L: Int, sites: (Site, Site)) -> [Float] {
        let C = dim, hd = headDim, (qq, kq) = quantizers
        var cq = q, ck = k
        cq.withUnsafeMutableBufferPointer { OperandCodes.codesInPlace(qq, $0.baseAddress!, count: L * C) }
        ck.withUnsafeMutableBufferPointer { OperandCodes.codesInPlace(kq, $0.baseAddress!, count: L * C) }
        let bound = OperandProductExecutor.staticBound(qq, kq, k: L)
        let exact = bound <= OperandProductExecutor.exactLimit || cq.withUnsafeBufferPointer { a in ck.withUnsafeBufferPointer { b in
            OperandCodes.gramExact(OperandCodes.columnSquares(a.baseAddress!, rows: L, cols: C, ld: C),
                                   OperandCodes.columnSquares(b.baseAddress!, rows: L, cols: C, ld: C))
        }}
        guard exact else {
            q.withUnsafeMutableBufferPointer { BulkQuantization.fakeQuantInPlace(qq, $0) }
            k.withUnsafeMutableBufferPointer { BulkQuantization.fakeQuantInPlace(kq, $0) }
            x.note(sites.0, sites.1, exact: false, reason: "partial sums of the Gram over \(L) tokens may exceed 2^24 (static bound \(bound), and the codes' column norms)")
            return ChannelOps.gram(q, k, rows: L, heads: heads, headDim: hd)
        }
        let p = OperandProduct(qq, kq, kernel: x.kernel)
        var g: [Float]
        if let kernel = p.kernel {
            g = [Float](repeating: 0, count: heads * hd * hd)
            cq.withUnsafeBufferPointer { a in ck.withUnsafeBufferPointer { b in g.withUnsafeMutableBufferPointer { o in
                for hh in 0..<heads {
                    // A(i, l) = cq[l, h·hd + i], B(l, j) = ck[l, h·hd + j].
                    kernel(hd, hd, L, a.baseAddress! + hh * hd, 1, C, p.aRange, b.baseAddress! + hh * hd, C, 1, p.bRange,
                           o.baseAddress! + hh * hd * hd, hd)
                }
            }}}
        } else {
            g = ChannelOps.gram(cq, ck, rows: L, heads: heads, headDim: hd)
        }
        g.withUnsafeMutableBufferPointer { OperandCodes.rescale($0.baseAddress!, rows: heads * hd, cols: hd, ld: hd, scale: p.scale) }
        x.note(sites.0, sites.1, exact: true)
        return g
    }

    /// P·V of channel attention with both operands quantized by the operand executor: attened[l, h·hd + i] =
    /// fl(fl(Δp·Δv)·Σ_j cp[h][i][j]·cv[l, h·hd + j]) (hd terms per output, bound max|cp|·max|cv|·hd), else the float path.
    private func channelProbsV(probs: inout [Float], v: inout [Float], quantizers: (Quantizer, Quantizer),
                               executor x: OperandProductExecutor, rows L: Int, into attened: inout [Float], sites: (Site, Site)) {
        let C = dim, hd = headDim, (pq, vq) = quantizers
        let bound = OperandProductExecutor.staticBound(pq, vq, k: hd)
        guard bound <= OperandProductExecutor.exactLimit else {
            probs.withUnsafeMutableBufferPointer { BulkQuantization.fakeQuantInPlace(pq, $0) }
            v.withUnsafeMutableBufferPointer { BulkQuantization.fakeQuantInPlace(vq, $0) }
            x.note(sites.0, sites.1, exact: false, reason: "partial sums up to \(bound) > 2^24")
            ChannelOps.probsTimesV(probs, v, rows: L, heads: heads, headDim: hd, into: &attened)
            return
        }
        probs.withUnsafeMutableBufferPointer { OperandCodes.codesInPlace(pq, $0.baseAddress!, count: $0.count) }
        v.withUnsafeMutableBufferPointer { OperandCodes.codesInPlace(vq, $0.baseAddress!, count: $0.count) }
        let p = OperandProduct(pq, vq, kernel: x.kernel)
        if let kernel = p.kernel {
            v.withUnsafeBufferPointer { a in probs.withUnsafeBufferPointer { b in attened.withUnsafeMutableBufferPointer { o in
                for hh in 0..<heads {
                    // A(l, j) = cv[l, h·hd + j], B(j, i) = cp[h][i][j]: S = cv · cpᵀ (the product is commutative in integers).
                    kernel(L, hd, hd, a.baseAddress! + hh * hd, C, 1, p.bRange, b.baseAddress! + hh * hd * hd, 1, hd, p.aRange,
                           o.baseAddress! + hh * hd, C)
                }
            }}}
        } else {
            ChannelOps.probsTimesV(probs, v, rows: L, heads: heads, headDim: hd, into: &attened)
        }
        attened.withUnsafeMutableBufferPointer { OperandCodes.rescale($0.baseAddress!, rows: L, cols: C, ld: C, scale: p.scale) }
        x.note(sites.0, sites.1, exact: true)
    }
}

extension ChannelOps {
    /// attened[l, h·hd + i] = Σ_j P[h][i][j] · v[l, h·hd + j]  =  v · B with B block-diagonal (B[h·hd+j][h·hd+i] = P[h][i][j]).
    static func probsTimesV(_ probs: [Float], _ v: [Float], rows L: Int, heads: Int, headDim hd: Int, into attened: inout [Float]) {
        let C = heads * hd
        var bd = [Float](repeating: 0, count: C * C)
        for hh in 0..<heads { for i in 0..<hd { for j in 0..<hd {
            bd[(hh * hd + j) * C + hh * hd + i] = probs[(hh * hd + i) * hd + j]
        }}}
        v.withUnsafeBufferPointer { vp in bd.withUnsafeBufferPointer { bp in attened.withUnsafeMutableBufferPointer { o in
            GEMM.multiply(m: L, n: C, k: C, a: vp.baseAddress!, lda: C, b: bp.baseAddress!, ldb: C, transB: false,
                          c: o.baseAddress!, ldc: C)
        }}}
    }
}

/// Column-wise helpers for channel attention on token-major (rows = tokens) matrices.
enum ChannelOps {
    /// Divides each column by max(its L2 norm, 1e-12); norms accumulated in Double per row block.
    static func normalizeColumns(_ x: inout [Float], rows: Int, cols: Int) {
        let ss = columnSums(x, rows: rows, cols: cols, squared: true)
        let inv = ss.map { Float(1 / max($0.squareRoot(), 1e-12)) }
        x.withUnsafeMutableBufferPointer { p in inv.withUnsafeBufferPointer { ip in
            let b = p.baseAddress!, iv = ip.baseAddress!
            Parallel.ranges(rows, minPerChunk: 256) { r in
                for row in r { let q = b + row * cols; for c in 0..<cols { q[c] *= iv[c] } }
            }
        }}
    }

    /// Column means (AdaptiveAvgPool2d(1) on a token-major map), accumulated in Double.
    static func columnMeans(_ x: [Float], rows: Int, cols: Int) -> [Float] {
        columnSums(x, rows: rows, cols: cols, squared: false).map { Float($0 / Double(rows)) }
    }

    /// Σ_rows x (or x²) per column: Float sums over 256-row blocks, blocks added in Double.
    static func columnSums(_ x: [Float], rows: Int, cols: Int, squared: Bool) -> [Double] {
        let block = 256, n = (rows + block - 1) / block
        var partial = [Float](repeating: 0, count: n * cols)
        x.withUnsafeBufferPointer { xp in partial.withUnsafeMutableBufferPointer { pp in
            let xb = xp.baseAddress!, pb = pp.baseAddress!
            Parallel.ranges(n) { br in
                for b in br {
                    let acc = pb + b * cols
                    for r in (b * block)..<min(rows, (b + 1) * block) {
                        let row = xb + r * cols
                        if squared { for c in 0..<cols { acc[c] += row[c] * row[c] } }
                        else { for c in 0..<cols { acc[c] += row[c] } }
                    }
                }
            }
        }}
        var total = [Double](repeating: 0, count: cols)
        for b in 0..<n { for c in 0..<cols { total[c] += Double(partial[b * cols + c]) } }
        return total
    }

    /// Per-head Gram blocks qᵀk (heads × hd × hd) over all rows, summed in 512-row chunks, chunks in Double.
    static func gram(_ q: [Float], _ k: [Float], rows: Int, heads: Int, headDim hd: Int) -> [Float] {
        let C = heads * hd, chunk = 512, n = (rows + chunk - 1) / chunk
        var partial = [Float](repeating: 0, count: n * heads * hd * hd)
        q.withUnsafeBufferPointer { qp in k.withUnsafeBufferPointer { kp in partial.withUnsafeMutableBufferPointer { pp in
            let qb = qp.baseAddress!, kb = kp.baseAddress!, pb = pp.baseAddress!
            Parallel.ranges(n) { r in
                for ci in r {
                    ck_channel_gram(qb, Int32(C), kb, Int32(C), Int32(ci * chunk), Int32(min(rows, (ci + 1) * chunk)),
                                    Int32(heads), Int32(hd), pb + ci * heads * hd * hd)
                }
            }
        }}}
        var total = [Double](repeating: 0, count: heads * hd * hd)
        for ci in 0..<n { for i in 0..<total.count { total[i] += Double(partial[ci * total.count + i]) } }
        return total.map { Float($0) }
    }
}

import CKernels
import Foundation

/// Backward-capable window attention: the engine's `WindowAttention` forward (zero-padded grid, roll, windows,
/// q·scale, q·kᵀ, −100 shift mask, additive position bias, softmax, P·V, roll back, crop) keeping what the
/// backward needs, with an optional `DifferentiableSiteQuantizer` on each operand (q after the scale, k, v,
/// probs; the layouts of the engine's hook: [windows·heads·N, headDim] and [windows·heads·N, N]).
///
/// Backward per window and head, with P the probabilities and primes the quantized operands:
/// dV′ = P′ᵀ·dO, dP′ = dO·V′ᵀ, dP = Q_P′(dP′), dS = P ⊙ (dP − rowsum(dP ⊙ P)), dQ′ = dS·K′, dK′ = dSᵀ·Q′,
/// then each operand's quantizer backward, dq = scale·dQ, d bias[h] = Σ_windows dS, and the inverse
/// window/roll/pad permutation scatters dq, dk, dv into the grid (added to what is there).
struct WindowAttentionBackward {
    let geometry: WindowGeometry
    let heads: Int
    let headDim: Int
    let scale: Float
    /// heads × N × N additive position bias.
    let bias: [Float]
    var qQuantizer: DifferentiableSiteQuantizer? = nil
    var kQuantizer: DifferentiableSiteQuantizer? = nil
    var vQuantizer: DifferentiableSiteQuantizer? = nil
    var probsQuantizer: DifferentiableSiteQuantizer? = nil

    /// What the backward needs: pre-quantization operands (window layout), their quantized values when a
    /// quantizer is present, and the probabilities.
    final class Cache {
        var q: [Float] = [], k: [Float] = [], v: [Float] = []
        var qQ: [Float]? = nil, kQ: [Float]? = nil, vQ: [Float]? = nil
        var probs: [Float] = []
        var probsQ: [Float]? = nil
    }

    /// Forward, identical in arithmetic to `WindowAttention.run` (same kernels, same order); writes the output of
    /// the real tokens into `out` (row stride ldo, channels outOff + h·headDim + d) and returns the cache.
    func forward(qkv: UnsafePointer<Float>, ld: Int, qOff: Int, kOff: Int, vOff: Int,
                 out: UnsafeMutablePointer<Float>, ldo: Int, outOff: Int) -> Cache {
        let g = geometry, N = g.tokensPerWindow, nW = g.windowCount, hd = headDim, H = heads
        let total = nW * H * N * hd
        let c = Cache()
        c.q = [Float](repeating: 0, count: total); c.k = c.q; c.v = c.q
        c.q.withUnsafeMutableBufferPointer { qp in c.k.withUnsafeMutableBufferPointer { kp in c.v.withUnsafeMutableBufferPointer { vp in
            let q = qp.baseAddress!, k = kp.baseAddress!, v = vp.baseAddress!
            Parallel.ranges(nW, minPerChunk: 1) { wr in
                for w in wr { for t in 0..<N {
                    guard let s = g.source(window: w, token: t) else { continue }
                    let row = qkv + s * ld
                    for h in 0..<H {
                        let o = ((w * H + h) * N + t) * hd
                        for d in 0..<hd {
                            q[o + d] = row[qOff + h * hd + d] * scale
                            k[o + d] = row[kOff + h * hd + d]
                            v[o + d] = row[vOff + h * hd + d]
                        }
                    }
                }}
            }
        }}}
        c.qQ = Self.quantized(c.q, qQuantizer, rows: nW * H * N, cols: hd)
        c.kQ = Self.quantized(c.k, kQuantizer, rows: nW * H * N, cols: hd)
        c.vQ = Self.quantized(c.v, vQuantizer, rows: nW * H * N, cols: hd)
        c.probs = [Float](repeating: 0, count: nW * H * N * N)
        let packedK = Int(ck_packed_b_size(Int32(hd), Int32(N))), packedV = Int(ck_packed_b_size(Int32(N), Int32(hd)))
        let qs = c.qQ ?? c.q, ks = c.kQ ?? c.k
        qs.withUnsafeBufferPointer { qp in ks.withUnsafeBufferPointer { kp in
            bias.withUnsafeBufferPointer { bp in c.probs.withUnsafeMutableBufferPointer { pp in
                let q = qp.baseAddress!, k = kp.baseAddress!, bias = bp.baseAddress!, P = pp.baseAddress!
                Parallel.ranges(nW, minPerChunk: 1, oversplit: 2) { wr in
                    let pk = UnsafeMutablePointer<Float>.allocate(capacity: packedK)
                    var labels = [Int](repeating: 0, count: N)
                    defer { pk.deallocate() }
                    for w in wr {
                        if g.shifted { for t in 0..<N { labels[t] = g.region(window: w, token: t) } }
                        let uniform = !g.shifted || labels.allSatisfy { $0 == labels[0] }
                        for h in 0..<H {
                            let base = (w * H + h) * N * hd, p = P + (w * H + h) * N * N
                            ck_pack_b(Int32(hd), Int32(N), k + base, Int32(hd), 1, pk)
                            ck_gemm_packed(Int32(N), Int32(N), Int32(hd), q + base, Int32(hd), pk, p, Int32(N), 0, nil)
                            if !uniform {
                                for i in 0..<N {
                                    let li = labels[i], row = p + i * N
                                    for j in 0..<N where labels[j] != li { row[j] += -100 }
                                }
                            }
                            ck_softmax_rows(p, bias + h * N * N, Int32(N), Int32(N), Int32(N))
                        }
                    }
                }
            }}
        }}
        c.probsQ = Self.quantized(c.probs, probsQuantizer, rows: nW * H * N, cols: N)
        let ps = c.probsQ ?? c.probs, vs = c.vQ ?? c.v
        ps.withUnsafeBufferPointer { pp in vs.withUnsafeBufferPointer { vp in
            let P = pp.baseAddress!, v = vp.baseAddress!
            Parallel.ranges(nW, minPerChunk: 1, oversplit: 2) { wr in
                let pk = UnsafeMutablePointer<Float>.allocate(capacity: packedV)
                let o = UnsafeMutablePointer<Float>.allocate(capacity: N * hd)
                defer { pk.deallocate(); o.deallocate() }
                for w in wr { for h in 0..<H {
                    ck_pack_b(Int32(N), Int32(hd), v + (w * H + h) * N * hd, Int32(hd), 0, pk)
                    ck_gemm_packed(Int32(N), Int32(hd), Int32(N), P + (w * H + h) * N * N, Int32(N), pk, o, Int32(hd), 0, nil)
                    for t in 0..<N {
                        guard let s = g.source(window: w, token: t) else { continue }
                        let dst = out + s * ldo + outOff + h * hd
                        for d in 0..<hd { dst[d] = o[t * hd + d] }
                    }
                }}
            }
        }}
        return c
    }

    private static func quantized(_ x: [Float], _ q: DifferentiableSiteQuantizer?, rows: Int, cols: Int) -> [Float]? {
        guard let q else { return nil }
        var y = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
            q.quantize(xp.baseAddress!, into: yp.baseAddress!, rows: rows, cols: cols)
        }}
        return y
    }

    /// Adds dL/dq, dL/dk, dL/dv into `dqkv` (same layout as the forward's qkv: row stride ld, offsets) and
    /// dL/d bias (heads × N × N) into `dBias`, from dOut (row stride ldo, channels outOff + h·headDim + d).
    func backward(_ c: Cache, dOut: UnsafePointer<Float>, ldo: Int, outOff: Int,
                  dqkv: UnsafeMutablePointer<Float>, ld: Int, qOff: Int, kOff: Int, vOff: Int,
                  dBias: UnsafeMutablePointer<Float>) {
        let g = geometry, N = g.tokensPerWindow, nW = g.windowCount, hd = headDim, H = heads
        let total = nW * H * N * hd
        var dS = [Float](repeating: 0, count: nW * H * N * N)
        var dq = [Float](repeating: 0, count: total), dk = dq, dv = dq
        let packedNN = Int(ck_packed_b_size(Int32(hd), Int32(N))), packedNh = Int(ck_packed_b_size(Int32(N), Int32(hd)))
        let pk = max(packedNN, packedNh)
        let ps = c.probsQ ?? c.probs, vs = c.vQ ?? c.v, qs = c.qQ ?? c.q, ks = c.kQ ?? c.k
        // Phase A: dP′ = dO·V′ᵀ (into dS), dV′ = P′ᵀ·dO.
        ps.withUnsafeBufferPointer { pp in vs.withUnsafeBufferPointer { vp in
            dS.withUnsafeMutableBufferPointer { sp in dv.withUnsafeMutableBufferPointer { dvp in
                let P = pp.baseAddress!, V = vp.baseAddress!, S = sp.baseAddress!, DV = dvp.baseAddress!
                Parallel.ranges(nW, minPerChunk: 1, oversplit: 2) { wr in
                    let packed = UnsafeMutablePointer<Float>.allocate(capacity: pk)
                    let dO = UnsafeMutablePointer<Float>.allocate(capacity: N * hd)
                    let T = UnsafeMutablePointer<Float>.allocate(capacity: N * N)
                    defer { packed.deallocate(); dO.deallocate(); T.deallocate() }
                    for w in wr { for h in 0..<H {
                        for t in 0..<N {
                            if let s = g.source(window: w, token: t) {
                                (dO + t * hd).update(from: dOut + s * ldo + outOff + h * hd, count: hd)
                            } else { (dO + t * hd).update(repeating: 0, count: hd) }
                        }
                        let wh = (w * H + h)
                        ck_pack_b(Int32(hd), Int32(N), V + wh * N * hd, Int32(hd), 1, packed)
                        ck_gemm_packed(Int32(N), Int32(N), Int32(hd), dO, Int32(hd), packed, S + wh * N * N, Int32(N), 0, nil)
                        ck_transpose(P + wh * N * N, N, N, N, T, N)
                        ck_pack_b(Int32(N), Int32(hd), dO, Int32(hd), 0, packed)
                        ck_gemm_packed(Int32(N), Int32(hd), Int32(N), T, Int32(N), packed, DV + wh * N * hd, Int32(hd), 0, nil)
                    }}
                }
            }}
        }}
        Self.quantBackward(probsQuantizer, c.probs, &dS, rows: nW * H * N, cols: N)
        Self.quantBackward(vQuantizer, c.v, &dv, rows: nW * H * N, cols: hd)
        // Phase B: softmax backward in place, dQ′ = dS·K′, dK′ = dSᵀ·Q′.
        c.probs.withUnsafeBufferPointer { pp in qs.withUnsafeBufferPointer { qp in ks.withUnsafeBufferPointer { kp in
            dS.withUnsafeMutableBufferPointer { sp in dq.withUnsafeMutableBufferPointer { dqp in dk.withUnsafeMutableBufferPointer { dkp in
                let P = pp.baseAddress!, Q = qp.baseAddress!, K = kp.baseAddress!, S = sp.baseAddress!
                let DQ = dqp.baseAddress!, DK = dkp.baseAddress!
                Parallel.ranges(nW, minPerChunk: 1, oversplit: 2) { wr in
                    let packed = UnsafeMutablePointer<Float>.allocate(capacity: pk)
                    let T = UnsafeMutablePointer<Float>.allocate(capacity: N * N)
                    defer { packed.deallocate(); T.deallocate() }
                    for w in wr { for h in 0..<H {
                        let wh = w * H + h, s = S + wh * N * N, p = P + wh * N * N
                        for i in 0..<N { SoftmaxBackward.row(p + i * N, s + i * N, s + i * N, N) }
                        ck_pack_b(Int32(N), Int32(hd), K + wh * N * hd, Int32(hd), 0, packed)
                        ck_gemm_packed(Int32(N), Int32(hd), Int32(N), s, Int32(N), packed, DQ + wh * N * hd, Int32(hd), 0, nil)
                        ck_transpose(s, N, N, N, T, N)
                        ck_pack_b(Int32(N), Int32(hd), Q + wh * N * hd, Int32(hd), 0, packed)
                        ck_gemm_packed(Int32(N), Int32(hd), Int32(N), T, Int32(N), packed, DK + wh * N * hd, Int32(hd), 0, nil)
                    }}
                }
            }}}
        }}}
        Self.quantBackward(qQuantizer, c.q, &dq, rows: nW * H * N, cols: hd)
        Self.quantBackward(kQuantizer, c.k, &dk, rows: nW * H * N, cols: hd)
        // d bias[h][i][j] += Σ_w dS[w][h][i][j], windows in order.
        dS.withUnsafeBufferPointer { sp in
            let S = sp.baseAddress!
            Parallel.ranges(H * N, minPerChunk: 16) { rr in
                for hi in rr {
                    let h = hi / N, i = hi % N, o = dBias + (h * N + i) * N
                    for w in 0..<nW { let s = S + ((w * H + h) * N + i) * N; for j in 0..<N { o[j] += s[j] } }
                }
            }
        }
        // Scatter to the grid: every grid token belongs to exactly one window, so windows never collide.
        dq.withUnsafeBufferPointer { dqp in dk.withUnsafeBufferPointer { dkp in dv.withUnsafeBufferPointer { dvp in
            let DQ = dqp.baseAddress!, DK = dkp.baseAddress!, DV = dvp.baseAddress!
            Parallel.ranges(nW, minPerChunk: 1) { wr in
                for w in wr { for t in 0..<N {
                    guard let s = g.source(window: w, token: t) else { continue }
                    let row = dqkv + s * ld
                    for h in 0..<H {
                        let o = ((w * H + h) * N + t) * hd
                        for d in 0..<hd {
                            row[qOff + h * hd + d] += DQ[o + d] * scale
                            row[kOff + h * hd + d] += DK[o + d]
                            row[vOff + h * hd + d] += DV[o + d]
                        }
                    }
                }}
            }
        }}}
    }

    private static func quantBackward(_ q: DifferentiableSiteQuantizer?, _ x: [Float], _ g: inout [Float], rows: Int, cols: Int) {
        guard let q else { return }
        x.withUnsafeBufferPointer { xp in g.withUnsafeMutableBufferPointer { gp in
            q.backward(input: xp.baseAddress!, gradOutput: UnsafePointer(gp.baseAddress!), gradInput: gp.baseAddress!, rows: rows, cols: cols)
        }}
    }

    /// d table (entries × heads, entries = (2·windowH − 1)(2·windowW − 1)) from d bias (heads × N × N), through the
    /// relative-position index (Δh + windowH − 1)·(2·windowW − 1) + (Δw + windowW − 1) of DAT and SwinIR.
    static func foldBiasGradient(_ dBias: [Float], heads: Int, windowH hH: Int, windowW wW: Int) -> [Float] {
        let N = hH * wW, entries = (2 * hH - 1) * (2 * wW - 1)
        var acc = [Double](repeating: 0, count: entries * heads)
        for h in 0..<heads { for i in 0..<N { for j in 0..<N {
            let idx = (i / wW - j / wW + hH - 1) * (2 * wW - 1) + (i % wW - j % wW + wW - 1)
            acc[idx * heads + h] += Double(dBias[(h * N + i) * N + j])
        }}}
        return acc.map { Float($0) }
    }
}

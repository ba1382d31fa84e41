import CKernels
import HarmoQ

/// Where the windows of one (shifted) window-attention lie on the token grid.
///
/// The `height × width` token grid is zero-padded at the bottom/right to `paddedHeight ×
/// paddedWidth` (DAT pads q, k, v after the Linear; SwinIR pads the image, so there the padded size
/// equals the grid), rolled by (−shiftH, −shiftW), and cut into `windowH × windowW` windows
/// enumerated row-major, tokens row-major inside a window. Shifted windows add −100 between tokens
/// of different regions, the regions being the slices [0, P−window), [P−window, P−shift), [P−shift, P)
/// of the rolled, padded grid along each axis.
struct WindowGeometry {
    let height: Int, width: Int
    let paddedHeight: Int, paddedWidth: Int
    let windowH: Int, windowW: Int
    let shiftH: Int, shiftW: Int

    var tokensPerWindow: Int { windowH * windowW }
    var windowsH: Int { paddedHeight / windowH }
    var windowsW: Int { paddedWidth / windowW }
    var windowCount: Int { windowsH * windowsW }
    var shifted: Bool { shiftH != 0 || shiftW != 0 }

    /// Original (unrolled) grid position of token t of window w, or nil if it lies in the padding.
    @inline(__always)
    func source(window w: Int, token t: Int) -> Int? {
        let ph = (w / windowsW) * windowH + t / windowW
        let pw = (w % windowsW) * windowW + t % windowW
        let oh = (ph + shiftH) % paddedHeight, ow = (pw + shiftW) % paddedWidth
        return oh < height && ow < width ? oh * width + ow : nil
    }

    /// Region label of token t of window w for the shift mask.
    @inline(__always)
    func region(window w: Int, token t: Int) -> Int {
        let ph = (w / windowsW) * windowH + t / windowW
        let pw = (w % windowsW) * windowW + t % windowW
        let rh = ph < paddedHeight - windowH ? 0 : (ph < paddedHeight - shiftH ? 1 : 2)
        let rw = pw < paddedWidth - windowW ? 0 : (pw < paddedWidth - shiftW ? 1 : 2)
        return rh * 3 + rw
    }
}

/// Multi-head window attention over q, k, v taken from a token matrix (the output of a qkv Linear).
struct WindowAttention {
    let geometry: WindowGeometry
    let heads: Int
    let headDim: Int
    let scale: Float
    /// heads × N × N additive position bias.
    let bias: [Float]

    /// Site indices of q, k, v and probs for the hook.
    let qSite: Int, kSite: Int, vSite: Int, probsSite: Int

    /// Reads q/k/v of this attention from `qkv` (rows = height·width, row stride `ld`, channel offsets
    /// qOff/kOff/vOff; head h uses channels off + h·headDim ..< +headDim) and writes the attention
    /// output for the real tokens into `out` (row stride `ldo`, channel offset `outOff` + h·headDim + d).
    func run(qkv: UnsafePointer<Float>, ld: Int, qOff: Int, kOff: Int, vOff: Int,
             out: UnsafeMutablePointer<Float>, ldo: Int, outOff: Int,
             hook: ActivationHook?, table: SiteTable) {
        let g = geometry, N = g.tokensPerWindow, nW = g.windowCount, hd = headDim, H = heads
        let perWindow = H * N * hd
        let total = nW * perWindow
        let q = UnsafeMutablePointer<Float>.allocate(capacity: total)
        let k = UnsafeMutablePointer<Float>.allocate(capacity: total)
        let v = UnsafeMutablePointer<Float>.allocate(capacity: total)
        defer { q.deallocate(); k.deallocate(); v.deallocate() }

        // Gather into [window][head][token][d]; padded tokens are exactly 0.
        Parallel.ranges(nW, minPerChunk: 1) { wr in
            for w in wr {
                for t in 0..<N {
                    let src = g.source(window: w, token: t)
                    for h in 0..<H {
                        let o = ((w * H + h) * N + t) * hd
                        if let s = src {
                            let row = qkv + s * ld
                            for d in 0..<hd {
                                q[o + d] = row[qOff + h * hd + d] * scale
                                k[o + d] = row[kOff + h * hd + d]
                                v[o + d] = row[vOff + h * hd + d]
                            }
                        } else {
                            for d in 0..<hd { q[o + d] = 0; k[o + d] = 0; v[o + d] = 0 }
                        }
                    }
                }
            }
        }
        table.call(hook, qSite, q, rows: nW * H * N, cols: hd)
        table.call(hook, kSite, k, rows: nW * H * N, cols: hd)
        table.call(hook, vSite, v, rows: nW * H * N, cols: hd)
        let products = OperandProducts(table: table, q: qSite, k: kSite, v: vSite, probs: probsSite,
                                       q: q, k: k, v: v, count: total, tokens: N, headDim: hd)

        // Whole-matrix probabilities only for hooks that need the whole matrix at once.
        let blockHook = hook?.acceptsRowBlocks == true ? hook : nil
        let probsAll: UnsafeMutablePointer<Float>? = hook == nil || blockHook != nil ? nil
            : UnsafeMutablePointer<Float>.allocate(capacity: nW * H * N * N)
        defer { probsAll?.deallocate() }

        bias.withUnsafeBufferPointer { biasBuf in
            let bias = biasBuf.baseAddress!
            let packedK = Int(ck_packed_b_size(Int32(hd), Int32(N)))
            let packedV = Int(ck_packed_b_size(Int32(N), Int32(hd)))

            // Phase 1: probabilities (into the shared buffer when hooked, else fused with phase 2).
            Parallel.ranges(nW, minPerChunk: 1, oversplit: 2) { wr in
                let logits = UnsafeMutablePointer<Float>.allocate(capacity: N * N)
                let pk = UnsafeMutablePointer<Float>.allocate(capacity: max(packedK, packedV))
                let o = UnsafeMutablePointer<Float>.allocate(capacity: N * hd)
                var labels = [Int](repeating: 0, count: N)
                defer { logits.deallocate(); pk.deallocate(); o.deallocate() }
                for w in wr {
                    if g.shifted { for t in 0..<N { labels[t] = g.region(window: w, token: t) } }
                    let uniform = !g.shifted || labels.allSatisfy { $0 == labels[0] }
                    for h in 0..<H {
                        let base = (w * H + h) * N * hd
                        let p = probsAll.map { $0 + (w * H + h) * N * N } ?? logits
                        if let qk = products.qk, let kernel = qk.kernel {
                            kernel(N, N, hd, q + base, hd, 1, qk.aRange, k + base, 1, hd, qk.bRange, p, N)
                        } else {
                            ck_pack_b(Int32(hd), Int32(N), k + base, Int32(hd), 1, pk)
                            ck_gemm_packed(Int32(N), Int32(N), Int32(hd), q + base, Int32(hd), pk, p, Int32(N), 0, nil)
                        }
                        if let qk = products.qk { OperandCodes.rescale(p, rows: N, cols: N, ld: N, scale: qk.scale) }
                        if !uniform {
                            for i in 0..<N {
                                let li = labels[i], row = p + i * N
                                for j in 0..<N where labels[j] != li { row[j] += -100 }
                            }
                        }
                        ck_softmax_rows(p, bias + h * N * N, Int32(N), Int32(N), Int32(N))
                        if let bh = blockHook, probsAll == nil {
                            bh.process(site: table.sites[probsSite], index: probsSite,
                                       values: UnsafeMutableBufferPointer(start: p, count: N * N), rows: N, cols: N)
                        }
                        if probsAll == nil {
                            scatter(p, v: v + base, head: h, window: w, packed: pk, o: o, out: out, ldo: ldo, outOff: outOff,
                                    products: products)
                        }
                    }
                }
            }
            guard let probsAll else { return }
            table.call(hook, probsSite, probsAll, rows: nW * H * N, cols: N)
            // Phase 2: probs · v.
            Parallel.ranges(nW, minPerChunk: 1, oversplit: 2) { wr in
                let pk = UnsafeMutablePointer<Float>.allocate(capacity: packedV)
                let o = UnsafeMutablePointer<Float>.allocate(capacity: N * hd)
                defer { pk.deallocate(); o.deallocate() }
                for w in wr {
                    for h in 0..<H {
                        scatter(probsAll + (w * H + h) * N * N, v: v + (w * H + h) * N * hd, head: h, window: w,
                                packed: pk, o: o, out: out, ldo: ldo, outOff: outOff, products: products)
                    }
                }
            }
        }
    }

    /// o = p (N×N) · v (N×hd), then window → grid (roll back, drop padding). With a P·V product of the operand
    /// executor, p is first replaced by its codes (exact path; v holds codes already) or by Q(p) (float path).
    @inline(__always)
    private func scatter(_ p: UnsafeMutablePointer<Float>, v: UnsafePointer<Float>, head h: Int, window w: Int,
                         packed pk: UnsafeMutablePointer<Float>, o: UnsafeMutablePointer<Float>,
                         out: UnsafeMutablePointer<Float>, ldo: Int, outOff: Int, products: OperandProducts) {
        let N = geometry.tokensPerWindow, hd = headDim
        if let pv = products.pv {
            OperandCodes.codesInPlace(pv.a, p, count: N * N, parallel: false)
            if let kernel = pv.kernel {
                kernel(N, hd, N, p, N, 1, pv.aRange, v, hd, 1, pv.bRange, o, hd)
            } else {
                ck_pack_b(Int32(N), Int32(hd), v, Int32(hd), 0, pk)
                ck_gemm_packed(Int32(N), Int32(hd), Int32(N), p, Int32(N), pk, o, Int32(hd), 0, nil)
            }
            OperandCodes.rescale(o, rows: N, cols: hd, ld: hd, scale: pv.scale)
        } else {
            if let q = products.probsFloatPath {
                BulkQuantization.fakeQuantInPlace(q, UnsafeMutableBufferPointer(start: p, count: N * N), parallel: false)
            }
            ck_pack_b(Int32(N), Int32(hd), v, Int32(hd), 0, pk)
            ck_gemm_packed(Int32(N), Int32(hd), Int32(N), p, Int32(N), pk, o, Int32(hd), 0, nil)
        }
        for t in 0..<N {
            guard let s = geometry.source(window: w, token: t) else { continue }
            let dst = out + s * ldo + outOff + h * hd
            for d in 0..<hd { dst[d] = o[t * hd + d] }
        }
    }
}

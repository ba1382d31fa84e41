import Foundation

/// Float64 reference for window attention, written from the official PyTorch code (`F.pad` bottom/right,
/// `torch.roll` by −shift, `img2windows`, q·scale, q·kᵀ + bias, `calculate_mask` slices with −100, softmax,
/// P·V, `windows2img`, roll back, crop), independent of `WindowGeometry`. The backward goes through the full
/// softmax Jacobian. Optional elementwise maps f (with derivative) on q·scale, k, v and P stand in for
/// differentiable site quantizers.
public enum WindowAttentionReference {
    public struct Spec: Sendable {
        public var height: Int, width: Int, paddedHeight: Int, paddedWidth: Int
        public var windowH: Int, windowW: Int, shiftH: Int, shiftW: Int
        public var heads: Int, headDim: Int, scale: Double
        public init(height: Int, width: Int, paddedHeight: Int, paddedWidth: Int, windowH: Int, windowW: Int,
                    shiftH: Int, shiftW: Int, heads: Int, headDim: Int, scale: Double) {
            self.height = height; self.width = width; self.paddedHeight = paddedHeight; self.paddedWidth = paddedWidth
            self.windowH = windowH; self.windowW = windowW; self.shiftH = shiftH; self.shiftW = shiftW
            self.heads = heads; self.headDim = headDim; self.scale = scale
        }
    }

    /// An elementwise map and its derivative.
    public struct Map: Sendable {
        public let f: @Sendable (Double) -> Double
        public let df: @Sendable (Double) -> Double
        public init(f: @escaping @Sendable (Double) -> Double, df: @escaping @Sendable (Double) -> Double) { self.f = f; self.df = df }
        public static let identity = Map(f: { $0 }, df: { _ in 1 })
    }

    public struct Maps: Sendable {
        public var q = Map.identity, k = Map.identity, v = Map.identity, probs = Map.identity
        public init() {}
    }

    /// Grid index (into the unpadded height × width map) of rolled padded position (ph, pw), or nil in the padding.
    static func source(_ s: Spec, _ ph: Int, _ pw: Int) -> Int? {
        let oh = (ph + s.shiftH) % s.paddedHeight, ow = (pw + s.shiftW) % s.paddedWidth   // torch.roll by −shift
        return oh < s.height && ow < s.width ? oh * s.width + ow : nil
    }

    static func label(_ s: Spec, _ ph: Int, _ pw: Int) -> Int {
        func region(_ p: Int, _ n: Int, _ win: Int, _ sh: Int) -> Int { p < n - win ? 0 : (p < n - sh ? 1 : 2) }
        return region(ph, s.paddedHeight, s.windowH, s.shiftH) * 3 + region(pw, s.paddedWidth, s.windowW, s.shiftW)
    }

    /// Tokens of each window: (grid index or nil, mask label).
    static func windows(_ s: Spec) -> [[(Int?, Int)]] {
        var out: [[(Int?, Int)]] = []
        for wy in 0..<(s.paddedHeight / s.windowH) { for wx in 0..<(s.paddedWidth / s.windowW) {
            var toks: [(Int?, Int)] = []
            for ty in 0..<s.windowH { for tx in 0..<s.windowW {
                let ph = wy * s.windowH + ty, pw = wx * s.windowW + tx
                toks.append((source(s, ph, pw), label(s, ph, pw)))
            }}
            out.append(toks)
        }}
        return out
    }

    /// out (L × heads·headDim) from qkv (L × ld; q, k, v of head h at off + h·headDim).
    public static func forward(qkv: [Double], ld: Int, qOff: Int, kOff: Int, vOff: Int, bias: [Double], spec s: Spec,
                               maps: Maps = Maps()) -> [Double] {
        let C = s.heads * s.headDim
        var out = [Double](repeating: 0, count: s.height * s.width * C)
        run(qkv: qkv, ld: ld, qOff: qOff, kOff: kOff, vOff: vOff, bias: bias, spec: s, maps: maps, dOut: nil) { src, h, d, value in
            out[src * C + h * s.headDim + d] = value
        }
        return out
    }

    /// (dqkv (L × ld, zero outside the q/k/v columns of this attention), d bias (heads × N × N)).
    public static func backward(qkv: [Double], ld: Int, qOff: Int, kOff: Int, vOff: Int, bias: [Double], spec s: Spec,
                                maps: Maps = Maps(), dOut: [Double]) -> (dqkv: [Double], dBias: [Double]) {
        var dqkv = [Double](repeating: 0, count: qkv.count)
        let N = s.windowH * s.windowW
        var dBias = [Double](repeating: 0, count: s.heads * N * N)
        run(qkv: qkv, ld: ld, qOff: qOff, kOff: kOff, vOff: vOff, bias: bias, spec: s, maps: maps,
            dOut: (dOut, { src, which, h, d, g in
                let off = which == 0 ? qOff : (which == 1 ? kOff : vOff)
                dqkv[src * ld + off + h * s.headDim + d] += g
            }, { h, i, j, g in dBias[(h * N + i) * N + j] += g })) { _, _, _, _ in }
        return (dqkv, dBias)
    }

    private static func run(qkv: [Double], ld: Int, qOff: Int, kOff: Int, vOff: Int, bias: [Double], spec s: Spec, maps: Maps,
                            dOut: ([Double], (Int, Int, Int, Int, Double) -> Void, (Int, Int, Int, Double) -> Void)?,
                            emit: (Int, Int, Int, Double) -> Void) {
        let N = s.windowH * s.windowW, hd = s.headDim, C = s.heads * hd
        let shifted = s.shiftH != 0 || s.shiftW != 0
        for toks in windows(s) {
            for h in 0..<s.heads {
                func operand(_ off: Int, _ mul: Double) -> [[Double]] {
                    toks.map { t in (0..<hd).map { d in t.0.map { qkv[$0 * ld + off + h * hd + d] * mul } ?? 0 } }
                }
                let q0 = operand(qOff, s.scale), k0 = operand(kOff, 1), v0 = operand(vOff, 1)
                let q = q0.map { $0.map(maps.q.f) }, k = k0.map { $0.map(maps.k.f) }, v = v0.map { $0.map(maps.v.f) }
                var P = [[Double]](repeating: [Double](repeating: 0, count: N), count: N)
                for i in 0..<N {
                    var row = (0..<N).map { j -> Double in
                        var a = 0.0
                        for d in 0..<hd { a += q[i][d] * k[j][d] }
                        if shifted && toks[i].1 != toks[j].1 { a += -100 }
                        return a + bias[(h * N + i) * N + j]
                    }
                    let m = row.max()!
                    row = row.map { exp($0 - m) }
                    let z = row.reduce(0, +)
                    P[i] = row.map { $0 / z }
                }
                let Pm = P.map { $0.map(maps.probs.f) }
                guard let back = dOut else {
                    for i in 0..<N { guard let src = toks[i].0 else { continue }
                        for d in 0..<hd { var o = 0.0; for j in 0..<N { o += Pm[i][j] * v[j][d] }; emit(src, h, d, o) }
                    }
                    continue
                }
                let (dO, addQKV, addBias) = back
                let g = toks.map { t in (0..<hd).map { d in t.0.map { dO[$0 * C + h * hd + d] } ?? 0 } }
                var dPm = [[Double]](repeating: [Double](repeating: 0, count: N), count: N)
                var dv = [[Double]](repeating: [Double](repeating: 0, count: hd), count: N)
                for i in 0..<N { for j in 0..<N { for d in 0..<hd {
                    dPm[i][j] += g[i][d] * v[j][d]
                    dv[j][d] += Pm[i][j] * g[i][d]
                }}}
                var dS = [[Double]](repeating: [Double](repeating: 0, count: N), count: N)
                for i in 0..<N { for j in 0..<N {
                    let dP = dPm[i][j] * maps.probs.df(P[i][j])
                    for jj in 0..<N { dS[i][jj] += dP * P[i][j] * ((j == jj ? 1 : 0) - P[i][jj]) }
                }}
                var dq = [[Double]](repeating: [Double](repeating: 0, count: hd), count: N), dk = dq
                for i in 0..<N { for j in 0..<N { for d in 0..<hd {
                    dq[i][d] += dS[i][j] * k[j][d]
                    dk[j][d] += dS[i][j] * q[i][d]
                }}}
                for i in 0..<N {
                    for j in 0..<N { addBias(h, i, j, dS[i][j]) }
                    guard let src = toks[i].0 else { continue }
                    for d in 0..<hd {
                        addQKV(src, 0, h, d, dq[i][d] * maps.q.df(q0[i][d]) * s.scale)
                        addQKV(src, 1, h, d, dk[i][d] * maps.k.df(k0[i][d]))
                        addQKV(src, 2, h, d, dv[i][d] * maps.v.df(v0[i][d]))
                    }
                }
            }
        }
    }
}

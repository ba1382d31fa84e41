import Foundation

/// The structural projections H of SRC (paper Table 3), on either axis.
///
/// **Across channels** (`channelMatrix`): a k×c matrix acting on a c-dimensional feature vector.
/// - identity: I_c.
/// - laplacian: the 1-D analogue of the 3×3 Laplacian along the channel index, tridiagonal (1, −2, 1) with zero
///   boundary (c×c). (The 2-D 3×3 kernel needs a 2-D layout; channels have none.)
/// - sobel: the 1-D Sobel derivative, central difference (−1, 0, 1) (c×c).
/// - dct: block DCT high-pass in blocks of 8 channels: Dᵀ·M·D with D the orthonormal 8-point DCT-II and M keeping
///   frequencies 4…7 (a c×c orthogonal projector; a trailing partial block uses its own DCT size and keeps its upper half).
/// - learned: the top-k principal directions (rows) of the structural residual covariance E[r rᵀ] (k×c).
/// - random: Gaussian k×c, entries N(0, 1/k), from a SplitMix64 seed.
///
/// **Across tokens** (`tokenFilters`): 2-D kernels applied to each channel plane of each image with zero padding:
/// laplacian = [[0,1,0],[1,−4,1],[0,1,0]]; sobel = the two kernels Gx, Gy (H stacks both);
/// dct = 8×8 block DCT high-pass that zeroes the low-frequency quadrant (u < 4 and v < 4) and keeps the other 48
/// coefficients (an orthogonal projector on each full 8×8 block; tokens in partial blocks pass unchanged); identity.
/// learned and random have no token-grid form here (throws).
public enum StructuralProjection {
    /// k×c channel projection.
    public static func channelMatrix(_ kind: ProjectionKind, channels c: Int, rank: Int = 32, seed: UInt64 = 0,
                                     residualCovariance: DMatrix? = nil) throws -> DMatrix {
        guard c > 0 else { throw QuantError("projection needs ≥ 1 channel, got \(c)") }
        switch kind {
        case .identity:
            return DMatrix.identity(c)
        case .laplacian:
            var h = DMatrix(zeros: c, c)
            for i in 0..<c { h[i, i] = -2; if i > 0 { h[i, i - 1] = 1 }; if i + 1 < c { h[i, i + 1] = 1 } }
            return h
        case .sobel:
            var h = DMatrix(zeros: c, c)
            for i in 0..<c { if i > 0 { h[i, i - 1] = -1 }; if i + 1 < c { h[i, i + 1] = 1 } }
            return h
        case .dctHighPass:
            var h = DMatrix(zeros: c, c)
            var start = 0
            while start < c {
                let b = Swift.min(8, c - start)
                let d = dctMatrix(b)
                let keepFrom = b / 2
                for i in 0..<b { for j in 0..<b {
                    var s = 0.0
                    for f in keepFrom..<b { s += d[f * b + i] * d[f * b + j] }
                    h[start + i, start + j] = s
                } }
                start += b
            }
            return h
        case .learned:
            guard let cov = residualCovariance else {
                throw QuantError("learned projection needs the structural residual covariance E[r rᵀ]")
            }
            guard cov.rows == c, cov.cols == c else {
                throw QuantError("learned projection: residual covariance is \(cov.rows)×\(cov.cols), expected \(c)×\(c)")
            }
            let k = Swift.min(rank, c)
            let (vals, vecs) = try SymmetricEigen.decompose(cov.data, n: c)
            let order = (0..<c).sorted { vals[$0] > vals[$1] || (vals[$0] == vals[$1] && $0 < $1) }
            var h = DMatrix(zeros: k, c)
            for r in 0..<k { let col = order[r]; for j in 0..<c { h[r, j] = vecs[j * c + col] } }
            return h
        case .random:
            let k = Swift.min(rank, c)
            var rng = SplitMix64(seed: seed)
            var h = DMatrix(zeros: k, c)
            let sd = 1 / Double(k).squareRoot()
            for i in 0..<(k * c) { h.data[i] = rng.nextGaussian() * sd }
            return h
        }
    }

    /// Orthonormal n-point DCT-II, row f = frequency: D[f, i] = a_f cos(π(2i+1)f / 2n).
    static func dctMatrix(_ n: Int) -> [Double] {
        var d = [Double](repeating: 0, count: n * n)
        for f in 0..<n {
            let a = f == 0 ? (1 / Double(n)).squareRoot() : (2 / Double(n)).squareRoot()
            for i in 0..<n { d[f * n + i] = a * cospi(Double(2 * i + 1) * Double(f) / Double(2 * n)) }
        }
        return d
    }

    static func cospi(_ x: Double) -> Double {
        // cos(πx) with the argument reduced to [0, 2) first.
        var t = x.truncatingRemainder(dividingBy: 2)
        if t < 0 { t += 2 }
        return cos(Double.pi * t)
    }

    /// Applies the token-axis H to x (n×c rows laid out on `grid`). Returns one filtered copy per stacked
    /// filter (Sobel gives two), each n×c.
    public static func tokenFilter(_ kind: ProjectionKind, _ x: [Float], channels c: Int, grid: TokenGrid) throws -> [[Float]] {
        guard x.count == grid.tokens * c else {
            throw QuantError("token projection: \(x.count) values do not fill a \(grid.images)×\(grid.height)×\(grid.width) grid of \(c) channels")
        }
        switch kind {
        case .identity: return [x]
        case .laplacian: return [convolve(x, c: c, grid: grid, kernel: [0, 1, 0, 1, -4, 1, 0, 1, 0])]
        case .sobel:
            return [convolve(x, c: c, grid: grid, kernel: [-1, 0, 1, -2, 0, 2, -1, 0, 1]),
                    convolve(x, c: c, grid: grid, kernel: [-1, -2, -1, 0, 0, 0, 1, 2, 1])]
        case .dctHighPass: return [dctHighPass(x, c: c, grid: grid)]
        case .learned, .random:
            throw QuantError("projection '\(kind.rawValue)' is defined across channels only; use --projection-axis channels")
        }
    }

    /// 3×3 cross-correlation with zero padding on each image plane.
    static func convolve(_ x: [Float], c: Int, grid: TokenGrid, kernel: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)
        let h = grid.height, w = grid.width
        for img in 0..<grid.images {
            let base = img * h * w
            for y in 0..<h { for xx in 0..<w {
                let o = (base + y * w + xx) * c
                for ky in -1...1 { let yy = y + ky; if yy < 0 || yy >= h { continue }
                    for kx in -1...1 { let xk = xx + kx; if xk < 0 || xk >= w { continue }
                        let kv = kernel[(ky + 1) * 3 + (kx + 1)]
                        if kv == 0 { continue }
                        let i = (base + yy * w + xk) * c
                        for ch in 0..<c { out[o + ch] += kv * x[i + ch] }
                    }
                }
            } }
        }
        return out
    }

    static func dctHighPass(_ x: [Float], c: Int, grid: TokenGrid) -> [Float] {
        var out = x
        let d = dctMatrix(8)
        // Projector P = I − L with L the low-quadrant projector: L = Σ_{u,v<4} (d_u ⊗ d_v)(d_u ⊗ d_v)ᵀ.
        var low = [Double](repeating: 0, count: 64 * 64)
        for u in 0..<4 { for v in 0..<4 {
            var basis = [Double](repeating: 0, count: 64)
            for i in 0..<8 { for j in 0..<8 { basis[i * 8 + j] = d[u * 8 + i] * d[v * 8 + j] } }
            for a in 0..<64 { for b in 0..<64 { low[a * 64 + b] += basis[a] * basis[b] } }
        } }
        let h = grid.height, w = grid.width
        for img in 0..<grid.images {
            let base = img * h * w
            for by in 0..<(h / 8) { for bx in 0..<(w / 8) {
                var tok = [Int](repeating: 0, count: 64)
                for i in 0..<8 { for j in 0..<8 { tok[i * 8 + j] = base + (by * 8 + i) * w + (bx * 8 + j) } }
                for ch in 0..<c {
                    var lowPart = [Double](repeating: 0, count: 64)
                    for a in 0..<64 {
                        var s = 0.0
                        for b in 0..<64 { s += low[a * 64 + b] * Double(x[tok[b] * c + ch]) }
                        lowPart[a] = s
                    }
                    for a in 0..<64 { out[tok[a] * c + ch] = Float(Double(x[tok[a] * c + ch]) - lowPart[a]) }
                }
            } }
        }
        return out
    }
}

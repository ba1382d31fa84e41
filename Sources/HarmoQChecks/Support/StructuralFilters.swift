import Foundation
import GSLOracle

/// The structural projections H of T1, built independently of the core (`StructuralProjection`).
/// Channel axis: H is k×m and acts on the layer's m output channels, laid out on a √m×√m grid for the 2-D
/// kernels (m must be a square). Token axis: a 2-D filter applied to each channel plane of each image.
enum StructuralFilters {
    struct Channel { let name: String; let h: OracleMatrix }

    static let laplacian3x3: [Double] = [0, 1, 0, 1, -4, 1, 0, 1, 0]
    static let sobelX3x3: [Double] = [-1, 0, 1, -2, 0, 2, -1, 0, 1]

    /// 3×3 kernel as an (s²)×(s²) matrix on an s×s grid, zero padding.
    static func kernelMatrix(_ k: [Double], side s: Int) -> OracleMatrix {
        var h = OracleMatrix(rows: s * s, cols: s * s)
        for r in 0..<s { for c in 0..<s { for dr in -1...1 { for dc in -1...1 {
            let rr = r + dr, cc = c + dc
            guard rr >= 0, rr < s, cc >= 0, cc < s else { continue }
            h[r * s + c, rr * s + cc] = k[(dr + 1) * 3 + (dc + 1)]
        } } } }
        return h
    }

    /// Orthonormal n-point DCT-II, row f = frequency.
    static func dct(_ n: Int) -> OracleMatrix {
        var d = OracleMatrix(rows: n, cols: n)
        for f in 0..<n { for i in 0..<n {
            let a = f == 0 ? (1 / Double(n)).squareRoot() : (2 / Double(n)).squareRoot()
            d[f, i] = a * cos(Double.pi * Double(2 * i + 1) * Double(f) / Double(2 * n))
        } }
        return d
    }

    /// The channel-axis family for an m-output layer with output covariance `outputCov` (m×m, for PCA).
    static func channelFamily(m: Int, outputCov: OracleMatrix, seed: UInt64) throws -> [Channel] {
        let s = Int(Double(m).squareRoot().rounded())
        precondition(s * s == m, "channel grid needs a square m")
        var out: [Channel] = [Channel(name: "identity", h: .identity(m))]
        out.append(Channel(name: "laplacian3x3", h: kernelMatrix(laplacian3x3, side: s)))
        out.append(Channel(name: "sobelX3x3", h: kernelMatrix(sobelX3x3, side: s)))
        let d = dct(m)
        var hp = OracleMatrix(rows: m - m / 2, cols: m)
        for f in (m / 2)..<m { for i in 0..<m { hp[f - m / 2, i] = d[f, i] } }
        out.append(Channel(name: "dctHighPass", h: hp))
        let (_, vecs) = try GSL.symmetricEigen(outputCov)   // ascending: the last k columns are the top-k PCs
        let k = m / 2
        var pca = OracleMatrix(rows: k, cols: m)
        for r in 0..<k { for j in 0..<m { pca[r, j] = vecs[j, m - 1 - r] } }
        out.append(Channel(name: "pcaLearned", h: pca))
        var rng = CheckRNG(seed: seed ^ 0x5151)
        var rnd = OracleMatrix(rows: k, cols: m)
        for i in rnd.data.indices { rnd.data[i] = rng.gaussian() / Double(k).squareRoot() }
        out.append(Channel(name: "randomWide", h: rnd))
        var rsq = OracleMatrix(rows: m, cols: m)
        for i in rsq.data.indices { rsq.data[i] = rng.gaussian() / Double(m).squareRoot() }
        out.append(Channel(name: "randomSquare", h: rsq))
        return out
    }

    /// Token-axis filters.
    enum Token: String, CaseIterable { case laplacian3x3, sobelX3x3, dctHighPass8x8 }

    /// Applies a token-axis filter to every channel plane of every image of `x` (tokens × c).
    static func apply(_ f: Token, to x: OracleMatrix, images: Int, grid g: Int) -> OracleMatrix {
        let c = x.cols
        var y = OracleMatrix(rows: x.rows, cols: c)
        switch f {
        case .laplacian3x3, .sobelX3x3:
            let k = f == .laplacian3x3 ? laplacian3x3 : sobelX3x3
            for img in 0..<images { for r in 0..<g { for cc in 0..<g {
                let t = img * g * g + r * g + cc
                for dr in -1...1 { for dc in -1...1 {
                    let rr = r + dr, c2 = cc + dc
                    guard rr >= 0, rr < g, c2 >= 0, c2 < g else { continue }
                    let wgt = k[(dr + 1) * 3 + (dc + 1)]; if wgt == 0 { continue }
                    let s = img * g * g + rr * g + c2
                    for j in 0..<c { y.data[t * c + j] += wgt * x.data[s * c + j] }
                } }
            } } }
        case .dctHighPass8x8:
            // orthogonal projector per full 8×8 block: P = (D⊗D)ᵀ·M·(D⊗D), M zeroes frequencies u<4 and v<4
            precondition(g % 8 == 0, "DCT 8×8 needs grid divisible by 8")
            let d = dct(8)
            for img in 0..<images { for br in stride(from: 0, to: g, by: 8) { for bc in stride(from: 0, to: g, by: 8) {
                for j in 0..<c {
                    var blk = [Double](repeating: 0, count: 64)
                    for r in 0..<8 { for q in 0..<8 { blk[r * 8 + q] = x.data[(img * g * g + (br + r) * g + bc + q) * c + j] } }
                    var coef = [Double](repeating: 0, count: 64)
                    for u in 0..<8 { for v in 0..<8 where !(u < 4 && v < 4) {
                        var s = 0.0
                        for r in 0..<8 { for q in 0..<8 { s += d[u, r] * d[v, q] * blk[r * 8 + q] } }
                        coef[u * 8 + v] = s
                    } }
                    for r in 0..<8 { for q in 0..<8 {
                        var s = 0.0
                        for u in 0..<8 { for v in 0..<8 where !(u < 4 && v < 4) { s += d[u, r] * d[v, q] * coef[u * 8 + v] } }
                        y.data[(img * g * g + (br + r) * g + bc + q) * c + j] = s
                    } }
                }
            } } }
        }
        return y
    }
}

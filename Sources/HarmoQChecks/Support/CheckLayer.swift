import GSLOracle

/// Seeded synthetic layer data with super-resolution-like statistics: activations on an images×G×G token grid,
/// spatially smooth (3×3 box blur of Student-t(3) noise), channel-correlated (random mixing), with a few outlier
/// channels scaled ×8; weights Gaussian/√d.
struct CheckLayer {
    /// Matrix types (DLATB4-style ladder used by T1).
    enum Kind: String { case srLike, illConditioned, rankDeficient }

    let kind: Kind
    let seed: UInt64
    let images: Int, grid: Int
    let d: Int, m: Int
    /// Activations, tokens × d (row-major), tokens = images·grid².
    let x: OracleMatrix
    /// Weights, m × d.
    let w: OracleMatrix
    var tokens: Int { x.rows }

    init(kind: Kind = .srLike, d: Int, m: Int, images: Int, grid: Int, seed: UInt64, outliers: Int = 2) {
        self.kind = kind; self.seed = seed; self.images = images; self.grid = grid; self.d = d; self.m = m
        var rng = CheckRNG(seed: seed)
        let n = images * grid * grid
        var raw = OracleMatrix(rows: n, cols: d)
        for i in raw.data.indices { raw.data[i] = rng.studentT(3) }
        // spatial smoothing per image & channel (zero padding)
        var smooth = OracleMatrix(rows: n, cols: d)
        for img in 0..<images { for r in 0..<grid { for c in 0..<grid {
            let t = img * grid * grid + r * grid + c
            for dr in -1...1 { for dc in -1...1 {
                let rr = r + dr, cc = c + dc
                guard rr >= 0, rr < grid, cc >= 0, cc < grid else { continue }
                let s = img * grid * grid + rr * grid + cc
                for j in 0..<d { smooth.data[t * d + j] += raw.data[s * d + j] / 9 }
            } }
        } } }
        // channel mixing: I + 0.3·G/√d
        var mix = OracleMatrix.identity(d)
        for i in mix.data.indices { mix.data[i] += 0.3 * rng.gaussian() / Double(d).squareRoot() }
        var xm = Dense.mul(smooth, mix)
        for o in 0..<min(outliers, d) {
            let ch = (o * 7 + 3) % d
            for t in 0..<n { xm.data[t * d + ch] *= 8 }
        }
        switch kind {
        case .srLike: break
        case .illConditioned:
            // channel 1 = channel 0 + 1e-5·noise: κ(Σxx) ≈ 1e10
            for t in 0..<n { xm.data[t * d + 1] = xm.data[t * d + 0] + 1e-5 * rng.gaussian() }
        case .rankDeficient:
            // the last quarter of the channels are exact copies of the first ones: Σxx singular, λ > 0 needed
            for j in (3 * d / 4)..<d { for t in 0..<n { xm.data[t * d + j] = xm.data[t * d + (j - 3 * d / 4)] } }
        }
        x = xm
        var wm = OracleMatrix(rows: m, cols: d)
        for i in wm.data.indices { wm.data[i] = rng.gaussian() / Double(d).squareRoot() }
        w = wm
    }

    var parameterText: [(String, String)] {
        [("m", "\(m)"), ("d", "\(d)"), ("n", "\(tokens)"), ("grid", "\(images)x\(grid)x\(grid)"),
         ("type", kind.rawValue), ("seed", seedText(seed))]
    }

    /// δx = Q(x) − x for a per-tensor symmetric MinMax (abs-max) activation quantizer with `bits` bits.
    func activationError(bits: Int) -> OracleMatrix {
        let a = x.data.reduce(0) { max($0, abs($1)) }
        let q = ReferenceQuantizer(bits: bits, lower: -a, upper: a)
        return OracleMatrix(rows: x.rows, cols: x.cols, data: x.data.map { q.fakeQuant($0) - $0 })
    }
}

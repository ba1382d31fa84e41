import GSLOracle

/// The algebra of objective (3) with H acting on the layer output (A = HᵀH, m×m):
///   f(δW) = tr(A·(W Σδδ Wᵀ + W Σδx δWᵀ + δW Σδxᵀ Wᵀ + δW Σxx δWᵀ)) + λ‖δW‖²_F,
/// with Σxx = E[x xᵀ], Σδx = E[δx xᵀ], Σδδ = E[δx δxᵀ]. Normal equations: A·δW·Σxx + λ·δW = −A·W·Σδx.
struct SRCStatistics {
    let w: OracleMatrix      // m×d
    let sxx: OracleMatrix    // d×d
    let sdx: OracleMatrix    // d×d, E[δx xᵀ]
    let sdd: OracleMatrix    // d×d
    let lambda: Double

    init(w: OracleMatrix, x: OracleMatrix, dx: OracleMatrix, lambda: Double? = nil, regressor: OracleMatrix? = nil) {
        let n = Double(x.rows)
        let r = regressor ?? x
        self.w = w
        sxx = Dense.gram(r, r, scale: n)
        sdx = Dense.gram(dx, r, scale: n)
        sdd = Dense.gram(dx, dx, scale: n)
        self.lambda = lambda ?? 0.01 * Dense.trace(sxx) / Double(x.cols)
    }

    /// f(δW) for A = HᵀH.
    func objective(_ a: OracleMatrix, _ dW: OracleMatrix) -> Double {
        let wsdd = Dense.mul(Dense.mul(w, sdd), w.transposed)
        let cross = Dense.mul(Dense.mul(w, sdx), dW.transposed)
        let quad = Dense.mul(Dense.mul(dW, sxx), dW.transposed)
        let inner = wsdd + cross + cross.transposed + quad
        return Dense.dot(a, inner) + lambda * Dense.dot(dW, dW)   // A symmetric: tr(A·S) = ⟨A, S⟩
    }

    /// f(δW) − f(δW*) = tr(A·E·Σxx·Eᵀ) + λ‖E‖², E = δW − δW* (exact for the quadratic f, no cancellation).
    func excess(_ a: OracleMatrix, _ e: OracleMatrix) -> Double {
        Dense.dot(a, Dense.mul(Dense.mul(e, sxx), e.transposed)) + lambda * Dense.dot(e, e)
    }

    /// ‖A δW Σxx + λ δW + A W Σδx‖_F / ((‖A‖‖δW‖‖Σxx‖ + λ‖δW‖ + ‖A‖‖W‖‖Σδx‖)·max(m,d)·ε).
    func normalEquationRatio(_ a: OracleMatrix, _ dW: OracleMatrix) -> Double {
        let awsdx = Dense.mul(Dense.mul(a, w), sdx)
        let r = Dense.mul(Dense.mul(a, dW), sxx) + lambda * dW + awsdx
        let an = a.frobeniusNorm, dn = dW.frobeniusNorm
        let scale = an * dn * sxx.frobeniusNorm + lambda * dn + an * w.frobeniusNorm * sdx.frobeniusNorm
        return r.frobeniusNorm / (scale * Double(max(w.rows, w.cols)) * Thresholds.epsDouble)
    }
}

/// Wrong implementations the T1 checker must catch.
enum T1Mutation: String, CaseIterable {
    case signFlip, transposedSigmaDx, lambdaDropped, hNotSquared, eigenBackRotationTransposed, quantizedRegressorInCross
}

/// Minimisers of objective (3).
enum SRCSolutions {
    /// The corrected closed form (eigen form of the Sylvester-type normal equations):
    /// A = U·diag(a)·Uᵀ, Σxx = V·diag(σ)·Vᵀ, C = Uᵀ·A·W·Σδx·V, δW = −U·[C_ij/(a_i σ_j + λ)]·Vᵀ.
    static func corrected(_ s: SRCStatistics, a: OracleMatrix, mutation: T1Mutation? = nil) throws -> OracleMatrix {
        let aa = a
        let sdx = mutation == .transposedSigmaDx ? s.sdx.transposed : s.sdx
        let lam = mutation == .lambdaDropped ? 0 : s.lambda
        let (av, u) = try GSL.symmetricEigen(aa)
        let (sv, v) = try GSL.symmetricEigen(s.sxx)
        let c = Dense.mul(Dense.mul(Dense.mul(Dense.mul(u.transposed, aa), s.w), sdx), v)
        var y = OracleMatrix(rows: c.rows, cols: c.cols)
        for i in 0..<c.rows { for j in 0..<c.cols {
            let den = max(av[i], 0) * max(sv[j], 0) + lam
            y[i, j] = -c[i, j] / den
        } }
        if mutation == .signFlip { y = -1 * y }
        let vt = mutation == .eigenBackRotationTransposed ? v : v.transposed
        return Dense.mul(Dense.mul(u, y), vt)
    }

    /// Oracle: vectorised normal equations (Σxx ⊗ A + λI)·vec(δW) = −vec(A·W·Σδx), column-major vec,
    /// solved by GSL Cholesky. Returns δW and κ₁ estimate (1/rcond).
    static func vectorisedOracle(_ s: SRCStatistics, a: OracleMatrix) throws -> (dW: OracleMatrix, kappa: Double) {
        let m = s.w.rows, d = s.w.cols
        let nn = m * d
        var big = OracleMatrix(rows: nn, cols: nn)
        for j in 0..<d { for l in 0..<d {
            let sx = s.sxx[l, j]
            if sx == 0 { continue }
            for i in 0..<m { for p in 0..<m { big.data[(j * m + i) * nn + (l * m + p)] = sx * a[i, p] } }
        } }
        for i in 0..<nn { big.data[i * nn + i] += s.lambda }
        let rhsM = Dense.mul(Dense.mul(a, s.w), s.sdx)
        var rhs = OracleMatrix(rows: nn, cols: 1)
        for j in 0..<d { for i in 0..<m { rhs.data[j * m + i] = -rhsM[i, j] } }
        let (x, rcond) = try GSL.choleskySolve(big, rhs)
        var dW = OracleMatrix(rows: m, cols: d)
        for j in 0..<d { for i in 0..<m { dW[i, j] = x.data[j * m + i] } }
        return (dW, 1 / rcond)
    }

    /// The paper's formula (5) as printed, with H k×d: δW₅ = −W·Σδx·Hᵀ·(H·Σxx·Hᵀ + λI_k)⁻¹ (m×k), via GSL Cholesky.
    static func paper(_ s: SRCStatistics, h: OracleMatrix) throws -> OracleMatrix {
        let rhs = Dense.mul(Dense.mul(s.w, s.sdx), h.transposed)          // m×k
        let g = Dense.addDiagonal(Dense.mul(Dense.mul(h, s.sxx), h.transposed), s.lambda)  // k×k SPD
        let z = try GSL.choleskySolve(g, rhs.transposed).x                 // g·z = rhsᵀ → δW₅ = −zᵀ
        return -1 * z.transposed
    }
}

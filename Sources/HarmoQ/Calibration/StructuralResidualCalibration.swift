/// Structural Residual Calibration (SRC, paper Step 1): the weight correction δW that minimises objective (3)
///
///     L(δW) = E‖H(W·δx + δW·x)‖² + λ‖δW‖²_F,      W ∈ ℝ^{m×d}, x, δx ∈ ℝ^d, H ∈ ℝ^{k×m}.
///
/// H acts on the layer *output* W·δx + δW·x ∈ ℝ^m; for the paper's square layers (m = d) that is its k×d.
///
/// ## Derivation of the exact minimiser
/// Write A = HᵀH (m×m, symmetric PSD), Σxx = E[x xᵀ], Σδx = E[δx xᵀ], Σδδ = E[δx δxᵀ] (all d×d). Then
///
///     L = tr(A W Σδδ Wᵀ) + 2 tr(A W Σδx δWᵀ) + tr(A δW Σxx δWᵀ) + λ tr(δW δWᵀ).
///
/// With ∂tr(M δWᵀ)/∂δW = M and ∂tr(A δW B δWᵀ)/∂δW = 2 A δW B (A, B symmetric):
///
///     ∂L/∂δW = 2 A W Σδx + 2 A δW Σxx + 2λ δW = 0   ⇔   A·δW·Σxx + λ·δW = −A·W·Σδx.        (N)
///
/// (N) is a Sylvester-type equation, *not* δW·(HΣxxHᵀ + λI) = … as the paper's (4) states: δW is multiplied by A on
/// the left in one term and by the identity in the other, so it cannot be factored out unless A = I. Vectorised
/// (column-major vec, vec(AXB) = (Bᵀ ⊗ A)·vec X):
///
///     (Σxx ⊗ A + λ I_{md}) · vec δW = −vec(A W Σδx),
///
/// whose matrix is symmetric positive definite for λ > 0 (eigenvalues a_i·g_j + λ ≥ λ), so the minimiser is unique.
/// Solving it in eigen form: with A = U·diag(a)·Uᵀ and Σxx = V·diag(g)·Vᵀ (orthogonal U, V) and Y = Uᵀ·δW·V,
/// (N) becomes a_i g_j Y_ij + λ Y_ij = C̃_ij with C̃ = −Uᵀ·A·W·Σδx·V, hence
///
///     δW* = U · [ C̃_ij / (a_i g_j + λ) ] · Vᵀ.                                                   (E)
///
/// Special case A = I (H = I, or any H with orthonormal columns): δW* = −W Σδx (Σxx + λI)⁻¹, solved by Cholesky.
///
/// ## The printed formula (5)
/// (5) δW = −W Σδx Hᵀ (H Σxx Hᵀ + λI)⁻¹ puts H on the *input* side: for H k×d it yields an m×k matrix, which can
/// be added to W only if k = d. For square H it is the ridge minimiser of E‖W δx + δW·(H x)‖² + λ‖δW‖², i.e. it fits
/// the correction as if the layer saw Hx; it coincides with (E) when H = I.
///
/// ## A spatial H (across tokens)
/// For a token-wise linear layer Y = X Wᵀ (rows = tokens) and a spatial filter H_s, ‖H_s(ΔX Wᵀ + X δWᵀ)‖² =
/// ‖(H_sΔX) Wᵀ + (H_s X) δWᵀ‖², so (E) with A = I applies to the filtered statistics Σxx = E[(H_s x)(H_s x)ᵀ],
/// Σδx = E[(H_s δx)(H_s x)ᵀ]. `LayerStatistics` builds those.
public enum StructuralResidualCalibration {
    /// The exact minimiser (E) of objective (3). `projection` is H (k×m, acting on outputs); nil means H = I, solved
    /// by Cholesky of Σxx + λI with `jitter` (paper: 1e-6) added to the diagonal. With an H, the eigen form (E) is
    /// used (no jitter needed: every denominator is ≥ λ).
    public static func exactMinimiser(weight w: DMatrix, sigmaXX: DMatrix, sigmaDeltaX: DMatrix,
                                      projection h: DMatrix?, lambda: Double, jitter: Double = 0) throws -> DMatrix {
        try certifiedExactMinimiser(weight: w, sigmaXX: sigmaXX, sigmaDeltaX: sigmaDeltaX, projection: h, lambda: lambda,
                                    jitter: jitter).deltaW
    }

    /// `exactMinimiser` with the certificate of its Cholesky solve (H = I); nil with an H, whose eigen form (E) has no
    /// linear solve (every denominator a_i·g_j + λ ≥ λ > 0).
    public static func certifiedExactMinimiser(weight w: DMatrix, sigmaXX: DMatrix, sigmaDeltaX: DMatrix, projection h: DMatrix?,
                                               lambda: Double, jitter: Double = 0) throws -> (deltaW: DMatrix, certificate: SolveCertificate?) {
        let m = w.rows, d = w.cols
        try checkShapes(w: w, sigmaXX: sigmaXX, sigmaDeltaX: sigmaDeltaX, lambda: lambda)
        let mutant = ShippedMutant.active
        let rhs = w * (mutant == .srcSigmaDxTransposed ? sigmaDeltaX.transposed : sigmaDeltaX)   // W Σδx (m×d)
        guard let h else {
            var a = sigmaXX
            if mutant != .srcRidgeDropped { for i in 0..<d { a[i, i] += lambda } }
            // (Σxx + λI) δWᵀ = −(W Σδx)ᵀ  (Σxx symmetric).
            let (xt, cert) = try Cholesky.solve(a, (-1.0) * rhs.transposed, jitter: jitter)
            return (xt.transposed, cert)
        }
        guard h.cols == m else {
            throw QuantError("SRC: H is \(h.rows)×\(h.cols) but acts on the layer output of size m = \(m) (expected k×\(m))")
        }
        let a = h.transposed * h                                    // A = HᵀH (m×m)
        let (av, u) = try SymmetricEigen.decompose(a.data, n: m)
        let (gv, v) = try SymmetricEigen.decompose(sigmaXX.data, n: d)
        let um = DMatrix(rows: m, cols: m, data: u), vm = DMatrix(rows: d, cols: d, data: v)
        var c = um.transposed * (a * rhs) * vm                      // Uᵀ A W Σδx V
        let lam = mutant == .srcEigenLambdaDropped ? 0 : lambda
        for i in 0..<m { for j in 0..<d { c[i, j] = -c[i, j] / (Swift.max(av[i], 0) * Swift.max(gv[j], 0) + lam) } }
        return (um * c * (mutant == .srcEigenBackRotationNotTransposed ? vm : vm.transposed), nil)
    }

    /// Formula (5) exactly as printed: δW = −W Σδx Hᵀ (H Σxx Hᵀ + λI)⁻¹ with H ∈ ℝ^{k×d} (input side), solved by
    /// Cholesky with `jitter`. Throws when it is ill-typed: H must have d columns, and the m×k result can only be
    /// added to W (m×d) when k = d.
    public static func paperFormula(weight w: DMatrix, sigmaXX: DMatrix, sigmaDeltaX: DMatrix,
                                    projection h: DMatrix, lambda: Double, jitter: Double = 0) throws -> DMatrix {
        try certifiedPaperFormula(weight: w, sigmaXX: sigmaXX, sigmaDeltaX: sigmaDeltaX, projection: h, lambda: lambda, jitter: jitter).deltaW
    }

    /// `paperFormula` with the certificate of its Cholesky solve.
    public static func certifiedPaperFormula(weight w: DMatrix, sigmaXX: DMatrix, sigmaDeltaX: DMatrix, projection h: DMatrix,
                                             lambda: Double, jitter: Double = 0) throws -> (deltaW: DMatrix, certificate: SolveCertificate) {
        let d = w.cols
        try checkShapes(w: w, sigmaXX: sigmaXX, sigmaDeltaX: sigmaDeltaX, lambda: lambda)
        guard h.cols == d else {
            throw QuantError("SRC formula (5) is ill-typed here: H is \(h.rows)×\(h.cols), but Σxx is \(d)×\(d), so HΣxxHᵀ needs H with \(d) columns")
        }
        guard h.rows == d else {
            throw QuantError("SRC formula (5) gives δW of size \(w.rows)×\(h.rows) (k = \(h.rows)), which cannot be added to W (\(w.rows)×\(d)); it is well-typed only for k = d")
        }
        let mutant = ShippedMutant.active
        var g = h * sigmaXX * h.transposed
        if mutant != .srcPaperFormulaRidgeDropped { for i in 0..<h.rows { g[i, i] += lambda } }
        let b = w * sigmaDeltaX * (mutant == .srcPaperFormulaHNotTransposed ? h : h.transposed)   // m×k
        let (xt, cert) = try Cholesky.solve(g, (-1.0) * b.transposed, jitter: jitter)
        return (xt.transposed, cert)
    }

    /// Objective (3) evaluated from second moments: tr(A(WΣδδWᵀ + 2WΣδxδWᵀ + δWΣxxδWᵀ)) + λ‖δW‖², A = HᵀH (nil: I).
    public static func objective(weight w: DMatrix, deltaW: DMatrix, sigmaXX: DMatrix, sigmaDeltaX: DMatrix,
                                 sigmaDeltaDelta: DMatrix, projection h: DMatrix?, lambda: Double) -> Double {
        let m = w.rows
        let a = h.map { $0.transposed * $0 } ?? DMatrix.identity(m)
        let inner = w * sigmaDeltaDelta * w.transposed
            + 2.0 * (w * sigmaDeltaX * deltaW.transposed)
            + deltaW * sigmaXX * deltaW.transposed
        let p = a * inner
        var tr = 0.0
        for i in 0..<m { tr += p[i, i] }
        return tr + lambda * deltaW.data.reduce(0) { $0 + $1 * $1 }
    }

    static func checkShapes(w: DMatrix, sigmaXX: DMatrix, sigmaDeltaX: DMatrix, lambda: Double) throws {
        let d = w.cols
        guard w.rows > 0, d > 0 else { throw QuantError("SRC: W is empty (\(w.rows)×\(d))") }
        guard sigmaXX.rows == d, sigmaXX.cols == d else { throw QuantError("SRC: Σxx is \(sigmaXX.rows)×\(sigmaXX.cols), expected \(d)×\(d)") }
        guard sigmaDeltaX.rows == d, sigmaDeltaX.cols == d else { throw QuantError("SRC: Σδx is \(sigmaDeltaX.rows)×\(sigmaDeltaX.cols), expected \(d)×\(d)") }
        guard lambda > 0, lambda.isFinite else { throw QuantError("SRC: λ must be a positive finite number, got \(lambda)") }
        for (name, mtx) in [("W", w), ("Σxx", sigmaXX), ("Σδx", sigmaDeltaX)] where !mtx.data.allSatisfy({ $0.isFinite }) {
            throw QuantError("SRC: \(name) has NaN/Inf entries")
        }
    }
}

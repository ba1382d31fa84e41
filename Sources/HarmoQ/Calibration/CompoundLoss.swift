/// The compound quantization losses of one layer and their gradients with respect to the clipping bounds
/// θ = (α_x, β_x, α_w[0..m), β_w[0..m)), on a fixed set of n input rows.
///
/// - linearised (paper): L = (1/n) Σ_t ‖W_c δx_t + δW x_t‖², δx = Q(x) − x, δW = Q(W_c) − W_c.
/// - deployment: L = (1/n) Σ_t ‖Q(W_c)·Q(x_t) − W₀·x_t^{raw}‖² (the reference is the FP layer on the raw input;
///   x = x_raw ⊘ s is what the quantizer sees).
///
/// Both are of the form (1/n)Σ‖r‖² with r affine in Q(W_c) and Q(x), so with R the n×m residuals:
/// ∂L/∂Q(W_c)_ij = (2/n) Σ_t r_ti · u_tj and ∂L/∂Q(x)_tj = (2/n) (r_t · B)_j, where (u, B) = (x, W_c) for the
/// linearised and (Q(x), Q(W_c)) for the deployment loss; the chain rule through `Quantizer.derivatives` (STE or
/// exact) gives ∂L/∂θ (Theorem 3's formula, evaluated on the real quantizer).
public struct CompoundLoss {
    public let kind: RefinementLoss
    public let rows: Int
    public let m: Int
    public let d: Int
    /// Scaled inputs x = x_raw ⊘ s (n×d).
    public private(set) var x: [Float]
    /// FP reference W₀ x_raw (n×m), deployment loss only.
    let reference: [Float]
    /// W_c x (n×m), linearised loss only.
    private(set) var wcx: [Float]

    public init(kind: RefinementLoss, rawInputs: [Float], rows n: Int, originalWeight w0: [Float], outputs m: Int, inputs d: Int) {
        self.kind = kind; rows = n; self.m = m; self.d = d
        x = rawInputs
        reference = kind == .deployment ? DenseKernels.matmulABt(rawInputs, w0, n: n, d: d, m: m) : []
        wcx = []
    }

    /// Sets the HSO divisor s (per input channel) and the current corrected weight; must be called before `evaluate`.
    public mutating func prepare(rawInputs: [Float], inputScale: [Float]?, weight wc: [Float]) {
        if let s = inputScale {
            if _slowPath(ShippedMutant.active == .lossPrepareMultipliesByScale) {
                for i in 0..<x.count { x[i] = rawInputs[i] * s[i % d] }
            } else {
                for i in 0..<x.count { x[i] = rawInputs[i] / s[i % d] }
            }
        } else { x = rawInputs }
        if kind == .linearised { wcx = DenseKernels.matmulABt(x, wc, n: rows, d: d, m: m) }
    }

    /// Loss and (optionally) gradient. Gradient layout: [α_x, β_x, α_w0…α_w(m−1), β_w0…β_w(m−1)].
    public func evaluate(_ q: LayerQuantization, mode: GradientMode, gradient: Bool) throws -> (loss: Double, grad: [Double]) {
        let n = rows
        let mutant = ShippedMutant.active
        let aq = QuantKernel(try q.activationQuantizer())
        let wq = try q.weightQuantizers().map(QuantKernel.init)
        let exact = mode == .exact && mutant != .kernelExactIsSTE
        var xh = x
        // Activation fake-quant fused with ∂x̂/∂α, ∂x̂/∂β (kept only when a gradient is wanted).
        var dxa = [Float](), dxb = [Float]()
        if gradient { dxa = [Float](repeating: 0, count: x.count); dxb = dxa }
        for i in 0..<xh.count {
            if gradient { (xh[i], dxa[i], dxb[i]) = aq.quantAndBoundDerivatives(x[i], exact: exact) } else { xh[i] = aq.fakeQuant(x[i]) }
        }
        var wh = q.weight
        var dwa = [Float](), dwb = [Float]()
        if gradient { dwa = [Float](repeating: 0, count: wh.count); dwb = dwa }
        for i in 0..<m { let k = wq[i]; for j in 0..<d { let t = i * d + j
            if gradient { (wh[t], dwa[t], dwb[t]) = k.quantAndBoundDerivatives(q.weight[t], exact: exact) } else { wh[t] = k.fakeQuant(q.weight[t]) }
        } }
        var r: [Float]
        switch kind {
        case .deployment:
            r = DenseKernels.matmulABt(xh, wh, n: n, d: d, m: m)
            for i in 0..<r.count { r[i] -= reference[i] }
        case .linearised:
            // r = W_c Q(x) + Q(W_c) x − 2 W_c x.
            let a = DenseKernels.matmulABt(xh, q.weight, n: n, d: d, m: m)
            let b = DenseKernels.matmulABt(x, wh, n: n, d: d, m: m)
            r = [Float](repeating: 0, count: n * m)
            let k: Float = mutant == .lossLinearisedResidualMissingTerm ? 1 : 2
            for i in 0..<r.count { r[i] = a[i] + b[i] - k * wcx[i] }
        }
        let loss = DenseKernels.meanRowSquaredNorm(r, n: n, m: m)
        guard gradient else { return (loss, []) }
        var scale = 2.0 / Double(n)
        if mutant == .lossGradientFactorTwoDropped { scale = 1.0 / Double(n) }
        if mutant == .lossGradientSignFlipped { scale = -scale }
        var (u, back): ([Float], [Float]) = kind == .deployment ? (xh, wh) : (x, q.weight)
        if kind == .deployment && mutant == .lossDeploymentWeightGradientUsesRawInput { u = x }
        if kind == .deployment && mutant == .lossDeploymentActivationGradientUsesFPWeight { back = q.weight }
        let gW = DenseKernels.matmulAtB(r, u, n: n, m: m, d: d)             // Σ_t r_ti u_tj (m×d, Double)
        let gX = DenseKernels.matmulAB(r, back, n: n, k: m, m: d)           // r·B (n×d)
        var grad = [Double](repeating: 0, count: 2 + 2 * m)
        var ga = 0.0, gb = 0.0
        var i0 = 0
        while i0 < x.count {
            var pa: Float = 0, pb: Float = 0
            let e = Swift.min(x.count, i0 + 4096)
            for i in i0..<e { pa += gX[i] * dxa[i]; pb += gX[i] * dxb[i] }
            ga += Double(pa); gb += Double(pb)
            i0 = e
        }
        grad[0] = scale * ga; grad[1] = scale * gb
        for i in 0..<m {
            var sa = 0.0, sb = 0.0
            for j in 0..<d { let t = i * d + j; sa += gW[t] * Double(dwa[t]); sb += gW[t] * Double(dwb[t]) }
            grad[2 + i] = scale * sa; grad[2 + m + i] = scale * sb
            if mutant == .lossGradientLayoutLowerUpperSwapped { grad.swapAt(2 + i, 2 + m + i) }
        }
        return (loss, grad)
    }
}

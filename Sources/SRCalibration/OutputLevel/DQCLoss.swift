/// 2DQuant's DQC loss exactly as the official code computes it (`2dquant_model.py` optimize_parameters, lines 245-290),
/// quirks included, with its gradient with respect to the quantized output and the quantized features.
///
/// For a batch of B samples with quantized / FP outputs O_Q, O_F (each sample n = 3·H·W values, numel = B·n) and K
/// feature pairs F_Q, F_F per sample (each L·C values):
///
///     l_pix = w_pix · mean|O_Q − O_F| / numel · B                        (w_pix = 1: mean, then /numel again, ·B)
///     n_Q[a] = ‖F_Q[a]‖_F, n_F[a] = ‖F_F[a]‖_F                           (detached: no gradient through them)
///     F'[a, b] = F[b] / n[a]                                             ([B,1,1,1] norm over [B,L,C] → [B,B,L,C])
///     l_feat_k = w_feat · mean((F_Q' − F_F')²) / M,  M = B²·L·C          (w_feat = 5)
///     l_total = l_pix + Σ_k l_feat_k
///
/// Gradients (torch's sign(0) = 0 for the L1 term):
///     ∂l_pix/∂O_Q = w_pix · sign(O_Q − O_F) · B / numel²
///     ∂l_feat_k/∂F_Q[b] = w_feat · (2/M²) · Σ_a (F_Q[b]/n_Q[a] − F_F[b]/n_F[a]) / n_Q[a]
///
/// All arithmetic in Float64. Inputs are per sample: `outQ[b]`, `featQ[k][b]`.
public struct DQCLoss: Sendable {
    public var pixelWeight: Double = 1
    public var featureWeight: Double = 5

    public init(pixelWeight: Double = 1, featureWeight: Double = 5) {
        self.pixelWeight = pixelWeight
        self.featureWeight = featureWeight
    }

    public struct Terms: Sendable, Equatable {
        public var pixel: Double
        public var features: [Double]
        public var featureSum: Double { features.reduce(0, +) }
        public var total: Double { pixel + featureSum }
    }

    public struct Result: Sendable {
        public var terms: Terms
        /// dl_total/dO_Q per sample.
        public var gradOutput: [[Double]]
        /// dl_total/dF_Q per feature, per sample.
        public var gradFeatures: [[[Double]]]
    }

    static func norm(_ x: [Float]) -> Double {
        var s = 0.0
        for v in x { s += Double(v) * Double(v) }
        return s.squareRoot()
    }

    public func evaluate(outQ: [[Float]], outF: [[Float]], featQ: [[[Float]]], featF: [[[Float]]]) -> Result {
        let B = outQ.count
        precondition(B > 0 && outF.count == B, "DQCLoss: \(B) quantized vs \(outF.count) FP outputs")
        let n = outQ[0].count
        let numel = Double(B * n)
        var abs = 0.0
        var gOut: [[Double]] = []
        let gPix = pixelWeight * Double(B) / (numel * numel)
        for b in 0..<B {
            precondition(outQ[b].count == n && outF[b].count == n, "DQCLoss: output sizes differ")
            var g = [Double](repeating: 0, count: n)
            for i in 0..<n {
                let d = Double(outQ[b][i]) - Double(outF[b][i])
                abs += Swift.abs(d)
                g[i] = d > 0 ? gPix : (d < 0 ? -gPix : 0)
            }
            gOut.append(g)
        }
        let pixel = pixelWeight * (abs / numel) / numel * Double(B)
        precondition(featQ.count == featF.count, "DQCLoss: \(featQ.count) vs \(featF.count) features")
        var feats: [Double] = []
        var gFeat: [[[Double]]] = []
        for k in featQ.indices {
            precondition(featQ[k].count == B && featF[k].count == B, "DQCLoss: feature \(k) batch size")
            let (l, g) = feature(featQ[k], featF[k], normsQ: featQ[k].map(Self.norm), normsF: featF[k].map(Self.norm))
            feats.append(l)
            gFeat.append(g)
        }
        return Result(terms: Terms(pixel: pixel, features: feats), gradOutput: gOut, gradFeatures: gFeat)
    }

    /// One feature term with the norms given (they are constants of the graph: `.detach()` in the official code).
    func feature(_ fq: [[Float]], _ ff: [[Float]], normsQ nq: [Double], normsF nf: [Double]) -> (Double, [[Double]]) {
        let B = fq.count, lc = fq[0].count
        let M = Double(B * B * lc)
        var sq = 0.0
        var grads: [[Double]] = []
        for b in 0..<B {
            precondition(fq[b].count == lc && ff[b].count == lc, "DQCLoss: feature sizes differ")
            var g = [Double](repeating: 0, count: lc)
            for a in 0..<B {
                let iq = 1 / nq[a], iF = 1 / nf[a]
                for i in 0..<lc {
                    let d = Double(fq[b][i]) * iq - Double(ff[b][i]) * iF
                    sq += d * d
                    g[i] += 2 * d * iq
                }
            }
            let scale = featureWeight / (M * M)
            for i in 0..<lc { g[i] *= scale }
            grads.append(g)
        }
        return (featureWeight * (sq / M) / M, grads)
    }
}

/// A per-layer calibration method: HarmoQ (either variant, any ablation) or one of the baselines.
///
/// Baselines (weights W per output channel unless noted; activations per tensor):
/// - `minMax`: symmetric, W bounds ±max|W_i·|, x bounds ±max|x|.
/// - `percentile(p)`: as minMax for W; x bounds ±max(|P_{100−p}|, |P_p|) (p = 99.99 by default).
/// - `dobi(oneDirection:zeroPoint:)`: 2DQuant stage 1, code-faithful: **per-tensor affine** bounds for both W and x,
///   100 candidates, two-sided shrink (or the one-direction search).
/// - `mseSearch`: symmetric, per-channel W and per-tensor x bounds minimising ‖v − Q(v)‖² over 100 shrink factors.
/// - `twoDQuantScheme(zeroPoint:)`: 2DQuant's scheme alone: per-tensor affine MinMax bounds for W and x.
///
/// The zero point of a method's affine grids is part of the method (`zeroPoint`): HarmoQ's is its config's, DOBI's and
/// the 2DQuant scheme's their own (default float, 2DQuant's grid); the symmetric baselines have none.
public enum CalibrationMethod: Codable, Sendable, Equatable {
    case minMax
    case percentile(Double)
    case dobi(oneDirection: Bool, zeroPoint: ZeroPoint = .float)
    case mseSearch
    case twoDQuantScheme(zeroPoint: ZeroPoint = .float)
    case harmoq(HarmoQConfig)

    /// Zero point of the method's affine grids (activations of linear and operand sites, affine weights): HarmoQ its
    /// config's (float when unset), DOBI and the 2DQuant scheme their own, `.float` for the symmetric baselines (they
    /// have no affine grid, so it changes nothing there).
    public var zeroPoint: ZeroPoint {
        switch self {
        case .harmoq(let c): return c.zeroPoint ?? .float
        case .dobi(_, let z), .twoDQuantScheme(let z): return z
        case .minMax, .percentile, .mseSearch: return .float
        }
    }

    /// Short name used in logs, tables and QPARAMS.
    public var name: String {
        switch self {
        case .minMax: return "minmax"
        case .percentile: return "percentile"
        case .dobi(let one, _): return one ? "dobi-one-direction" : "dobi"
        case .mseSearch: return "mse"
        case .twoDQuantScheme: return "2dquant-scheme"
        case .harmoq(let c):
            var s = c.variant == .paperLiteral ? "harmoq-literal" : "harmoq"
            let off = [c.useSRC ? nil : "src", c.useHSO ? nil : "hso", c.useABR ? nil : "abr"].compactMap { $0 }
            if !off.isEmpty { s += "-no-" + off.joined(separator: "-") }
            return s
        }
    }
}

/// L_total of a layer in both forms, on the evaluation rows.
public struct LayerLosses: Codable, Sendable, Equatable {
    /// E‖W₀x − Q(W_c)·Q(x ⊘ s)‖².
    public var deployment: Double
    /// E‖W_c δx + δW x‖² (the paper's L_total; δW·δx dropped).
    public var linearised: Double
}

/// The outcome of calibrating one layer.
public struct LayerCalibrationResult: Codable, Sendable, Equatable {
    public var method: String
    public var quantization: LayerQuantization
    /// Losses of the MinMax baseline (symmetric, `--method minmax`) on the same rows: the paper's θ ← MinMax(D).
    public var before: LayerLosses
    public var after: LayerLosses
    public var trace: RefinementTrace?
    /// Frobenius norm of the SRC correction δW (0 when SRC is off).
    public var srcCorrectionNorm: Double
    /// Certificate of the (first) SRC linear solve; nil when SRC is off or solved in eigen form.
    public var srcCertificate: SolveCertificate? = nil
}

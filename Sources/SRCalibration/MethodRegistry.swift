import HarmoQ

/// The knobs a calibration method may read, with the defaults `harmoq calibrate` uses. One value type shared by the
/// CLI (`calibrate`), the tables (`PaperTables`) and anything else that turns a method name into a `CalibrationMethod`.
public struct MethodSettings: Sendable, Equatable {
    /// HarmoQ steps switched off (Table 2 ablation).
    public enum Step: String, Sendable, CaseIterable { case src, hso, abr }

    /// `percentile`: the upper/lower p-th percentiles.
    public var percentile = 99.99
    /// `dobi`: one-direction search (lower bound fixed) instead of the code-faithful two-sided shrink.
    public var oneDirection = false
    /// HarmoQ: steps switched off.
    public var disabled: Set<Step> = []
    /// HarmoQ: SRC projection H and its axis; nil = the variant's default (identity/tokens corrected, laplacian/channels literal).
    public var projection: ProjectionKind? = nil
    public var projectionAxis: ProjectionAxis? = nil
    /// HarmoQ: SRC regressor; nil = the variant's default.
    public var srcRegressor: SRCRegressor? = nil
    /// HarmoQ: λ of SRC.
    public var lambda = 1e-2
    /// HarmoQ: ABR iterations per linear site; the warm-up is `HarmoQConfig.warmup(forIterations:)` of them.
    public var iterations = 300
    /// HarmoQ: rows per site ABR optimises and reports on.
    public var refinementRows = 1024
    /// HarmoQ: ABR gradient.
    public var gradient: GradientMode = .ste
    /// HarmoQ: roll back and halve η on every loss increase.
    public var abrRollback = false
    /// HarmoQ: activation scheme; nil = the variant's default (affine corrected, symmetric literal).
    public var activationScheme: QuantScheme? = nil
    /// Zero point of the method's affine grids, the one place it is chosen (it becomes `CalibrationMethod.zeroPoint`):
    /// nil = the method's default (HarmoQ: the variant's, integer corrected; DOBI and the 2DQuant scheme: float).
    /// The symmetric methods (minmax, percentile, mse) have no affine grid and ignore it.
    public var zeroPoint: ZeroPoint? = nil
    public var seed: UInt64 = 0

    public init() {}
}

/// How a registered method calibrates.
public enum MethodKind: String, Sendable {
    /// Site by site (`ModelCalibrator`, `CalibrationMethod`): MinMax, Percentile, DOBI, MSE, HarmoQ.
    case perLayer
    /// Trained against the model output (`DQCTrainer`): 2DQuant.
    case outputLevel
}

/// One calibration method, registered once by name (`MethodRegistry`).
public struct RegisteredMethod: Sendable {
    /// The name users type (`harmoq calibrate --method NAME`, `harmoq tables`, QPARAMS `method`).
    public let name: String
    /// One line for `--help` and docs.
    public let summary: String
    public let kind: MethodKind
    let build: (@Sendable (MethodSettings) throws -> CalibrationMethod)?
    /// The output-level refinement `harmoq calibrate` runs after this method when `--refine` is not given (DAT-light
    /// plans; `--refine none` skips it). HarmoQ corrected: block reconstruction with learned weights, the best preset
    /// measured (docs/refinement.md).
    public var defaultRefinement: RefinementStages? = nil

    /// The per-layer method with these settings; throws for an output-level method (it has its own trainer) and for
    /// settings the method rejects (the message names the setting).
    public func method(_ settings: MethodSettings = MethodSettings()) throws -> CalibrationMethod {
        guard let build else {
            throw QuantError("'\(name)' is an output-level method (\(summary)); it is run by its own trainer, not site by site")
        }
        return try build(settings)
    }
}

/// Every calibration method harmoq offers, registered once: the CLI, the tables and the docs read this list.
public enum MethodRegistry {
    public static let all: [RegisteredMethod] = [
        RegisteredMethod(name: "harmoq", summary: "HarmoQ, corrected variant (exact SRC minimiser, per-channel HSO, ABR on the deployment loss, affine activation grid with an integer zero point)",
                         kind: .perLayer, build: { try harmoq(.corrected(), $0) },
                         defaultRefinement: RefinementStages(block: BlockReconstructionOptions())),
        RegisteredMethod(name: "harmoq-literal", summary: "HarmoQ with the paper's formulas as printed (symmetric activation grid)",
                         kind: .perLayer, build: { try harmoq(.paperLiteral(), $0) }),
        RegisteredMethod(name: "minmax", summary: "MinMax bounds (symmetric AbsMax), the paper's θ ← MinMax(D)",
                         kind: .perLayer, build: { _ in .minMax }),
        RegisteredMethod(name: "percentile", summary: "Percentile bounds (--percentile p)",
                         kind: .perLayer, build: { s in
                             guard s.percentile > 50, s.percentile <= 100 else { throw QuantError("percentile must be in (50, 100], got \(s.percentile)") }
                             return .percentile(s.percentile) }),
        RegisteredMethod(name: "dobi", summary: "DOBI, 2DQuant's stage 1 (distribution-oriented bound initialisation)",
                         kind: .perLayer, build: { .dobi(oneDirection: $0.oneDirection, zeroPoint: $0.zeroPoint ?? .float) }),
        RegisteredMethod(name: "mse", summary: "MSE search of the clipping bounds per site",
                         kind: .perLayer, build: { _ in .mseSearch }),
        RegisteredMethod(name: "2dquant-scheme", summary: "2DQuant's quantizer scheme with MinMax bounds (per-tensor affine)",
                         kind: .perLayer, build: { .twoDQuantScheme(zeroPoint: $0.zeroPoint ?? .float) }),
        RegisteredMethod(name: "2dquant", summary: "official 2DQuant: DOBI + DQC output-level training of every bound (docs/2dquant.md)",
                         kind: .outputLevel, build: nil),
    ]

    public static var names: [String] { all.map(\.name) }

    /// The registered method called `name`; the error lists every name.
    public static func named(_ name: String) throws -> RegisteredMethod {
        guard let m = all.first(where: { $0.name == name }) else {
            throw QuantError("unknown method '\(name)' (use one of \(names.joined(separator: ", ")))")
        }
        return m
    }

    /// `named(name).method(settings)`.
    public static func method(_ name: String, _ settings: MethodSettings = MethodSettings()) throws -> CalibrationMethod {
        try named(name).method(settings)
    }

    static func harmoq(_ preset: HarmoQConfig, _ s: MethodSettings) throws -> CalibrationMethod {
        var c = preset
        c.useSRC = !s.disabled.contains(.src)
        c.useHSO = !s.disabled.contains(.hso)
        c.useABR = !s.disabled.contains(.abr)
        if let p = s.projection { c.projection = p }
        if let a = s.projectionAxis { c.projectionAxis = a }
        if let r = s.srcRegressor { c.srcRegressor = r }
        c.gradientMode = s.gradient
        c.lambda = s.lambda
        guard s.iterations >= 0 else { throw QuantError("iterations must be ≥ 0, got \(s.iterations)") }
        c.iterations = s.iterations
        c.warmupIterations = HarmoQConfig.warmup(forIterations: s.iterations)
        c.refinementRows = s.refinementRows
        if s.abrRollback { c.rollbackOnIncrease = true }
        if let a = s.activationScheme { c.activationScheme = a == .symmetric ? nil : a }
        if let z = s.zeroPoint { c.zeroPoint = z }
        c.seed = s.seed
        try c.validate()
        return .harmoq(c)
    }
}

extension HarmoQConfig {
    /// ABR warm-up for a run of `iterations`: 10% of them, capped at the paper's 300.
    public static func warmup(forIterations iterations: Int) -> Int { Swift.min(300, iterations / 10) }
}

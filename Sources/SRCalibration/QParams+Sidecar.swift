import HarmoQ

/// The JSON sidecar of a `harmoq-qparams/2` file: every value that is not in the tensor file, each exactly once.
///
/// What lives where (one source of truth per value):
/// * tensors (`<site>.activation_bounds`, `.weight`, `.weight_lower`, `.weight_upper`, `.input_scale`): every bound,
///   the corrected weight and its shape (m×d), the HSO scales;
/// * sidecar, per site: kind, which sides are quantized, the activation quantizer's bits, scheme and rounding (also
///   used for the weights), and for linear sites the weight quantizer's bits, scheme and granularity; diagnostics
///   (L_total before/after, ABR trace, SRC certificate);
/// * sidecar, top level: the run's settings (bits requested, method, seed, patches, …) and the model it was
///   calibrated on (file name, architecture, scale, `modelFingerprint`).
///
/// `harmoq-qparams/1` sidecars held the bounds, shapes and activation quantizer a second (and third) time; they still
/// load, and any copy that disagrees with the tensors or with the site is an error naming the site
/// (`QParams.readV1`).
struct QParamsSidecar: Codable {
    var format: String
    var toolVersion: String
    var model: String
    var modelFingerprint: String?
    var architecture: String
    var scale: Int
    var method: String
    var weightBits: Int
    var activationBits: Int
    var seed: UInt64
    var inputs: String
    var patchCount: Int
    var patchSources: [String]
    var notes: [String]
    var config: HarmoQConfig?
    /// Optional (absent = no rotation), so files without rotations are unchanged.
    var rotation: RotationKind?
    /// Optional (absent = none).
    var operandRotation: OperandRotationFold.Record?
    var sites: [Site]
    /// Optional (absent = no output-level refinement recorded).
    var refinements: [RefinementRecord]?

    struct Site: Codable {
        var name: String
        var kind: SiteQuantization.Kind
        var activationQuantized: Bool
        var weightQuantized: Bool
        var activationBits: Int
        var activationScheme: QuantScheme
        var rounding: Rounding
        /// The integer zero point z of an affine activation grid (`Quantizer(integerZeroPoint:)`); absent = float zero
        /// point. z is derived from the bounds; this copy is for readers and is checked against them on reading.
        var activationZeroPoint: Int32?
        /// Linear sites only.
        var weightQuantizer: WeightQuantizer?
        var before: LayerLosses?
        var after: LayerLosses?
        var convergence: ConvergenceTrace?
        var solveCertificate: SolveCertificate?
        /// Online rotation (kind, seed, order; a stored matrix is the tensor `<name>.rotation`); absent = none.
        var rotation: SiteRotation?
    }

    struct WeightQuantizer: Codable {
        var bits: Int
        var scheme: QuantScheme
        /// Written as "perChannel" or "perTensor".
        var granularity: WeightGranularity
        /// Affine weight grids with an integer zero point per row (absent = float zero point).
        var integerZeroPoint: Bool?

        init(_ w: WeightQuantizerPlan) {
            bits = w.bits; scheme = w.scheme; granularity = w.granularity; integerZeroPoint = w.integerZeroPoint ? true : nil
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            bits = try c.decode(Int.self, forKey: .bits)
            scheme = try c.decode(QuantScheme.self, forKey: .scheme)
            let g = try c.decode(String.self, forKey: .granularity)
            guard let granularity = WeightGranularity(rawValue: g) else {
                throw DecodingError.dataCorruptedError(forKey: .granularity, in: c, debugDescription:
                    "weight granularity '\(g)' (\(WeightGranularity.allCases.map(\.rawValue).joined(separator: " or ")))")
            }
            self.granularity = granularity
            integerZeroPoint = try c.decodeIfPresent(Bool.self, forKey: .integerZeroPoint)
        }
    }

    init(_ q: QParams) {
        format = QParams.format
        toolVersion = q.toolVersion; model = q.model; modelFingerprint = q.modelFingerprint; architecture = q.architecture
        scale = q.scale; method = q.method; weightBits = q.weightBits; activationBits = q.activationBits; seed = q.seed
        inputs = q.inputs; patchCount = q.patchCount; patchSources = q.patchSources; notes = q.notes; config = q.config
        rotation = q.rotation
        operandRotation = q.operandRotation
        refinements = q.refinements
        sites = q.sites.map { s in
            Site(name: s.name, kind: s.kind, activationQuantized: s.activationQuantized, weightQuantized: s.weightQuantized,
                 activationBits: s.activationBits, activationScheme: s.activationScheme, rounding: s.rounding,
                 activationZeroPoint: s.activationIntegerZeroPoint == true ? (try? s.activationQuantizer())?.zeroPoint : nil,
                 weightQuantizer: s.layer.map { WeightQuantizer($0.weightPlan) },
                 before: s.before, after: s.after, convergence: s.convergence, solveCertificate: s.solveCertificate, rotation: s.rotation)
        }
    }
}

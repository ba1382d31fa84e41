import Foundation
import HarmoQ
import SRCalibration

/// Everything an audit report shows, measured once and rendered as HTML (`AuditHTML`) and Markdown
/// (`AuditMarkdown`). Sections appear in `AuditReport.sectionIDs` order; each renders as an element with that id.
public struct AuditReport: Codable, Sendable {
    /// The stable element ids of the report's sections, in order.
    public static let sectionIDs = ["manifest", "sqnr", "outliers", "sensitivity", "bounds", "convergence", "certificates",
                                    "verdicts", "images", "crops", "onnx"]

    /// What was audited and how (shown in the header).
    public struct Header: Codable, Sendable {
        public var model: String
        public var qparams: String
        public var architecture: String
        public var scale: Int
        public var method: String
        public var bits: String
        public var toolVersion: String
        public var command: String
        public var notes: [String]
        public init(model: String, qparams: String, architecture: String, scale: Int, method: String, bits: String,
                    toolVersion: String, command: String, notes: [String] = []) {
            self.model = model; self.qparams = qparams; self.architecture = architecture; self.scale = scale
            self.method = method; self.bits = bits; self.toolVersion = toolVersion; self.command = command; self.notes = notes
        }
    }

    /// One site of the model: how (and whether) it is quantized.
    public struct ManifestRow: Codable, Sendable {
        public var site: String
        /// "linear m×d" or "matmul operand".
        public var kind: String
        /// False: the site is not in the QPARAMS and runs in float.
        public var inQParams: Bool
        public var weightQuantized: Bool
        public var activationQuantized: Bool
        public var weightBits: Int?
        public var activationBits: Int?
        /// Of the weights (written "perChannel" / "perTensor"); activations are per tensor.
        public var weightGranularity: WeightGranularity?
        public var weightScheme: String?
        public var activationScheme: String?
        public var rounding: String?
        public var activationLower: Double?
        public var activationUpper: Double?
        /// (upper − lower) / (2^bits − 1).
        public var activationStep: Double?
        public var weightLowerMin: Double?
        public var weightUpperMax: Double?
        public var weightStepMin: Double?
        public var weightStepMax: Double?
        /// HSO per-input-channel scales present.
        public var inputScaled: Bool
        public init(site: String, kind: String, inQParams: Bool, weightQuantized: Bool = false, activationQuantized: Bool = false,
                    weightBits: Int? = nil, activationBits: Int? = nil, weightGranularity: WeightGranularity? = nil, weightScheme: String? = nil,
                    activationScheme: String? = nil, rounding: String? = nil, activationLower: Double? = nil,
                    activationUpper: Double? = nil, activationStep: Double? = nil, weightLowerMin: Double? = nil,
                    weightUpperMax: Double? = nil, weightStepMin: Double? = nil, weightStepMax: Double? = nil, inputScaled: Bool = false) {
            self.site = site; self.kind = kind; self.inQParams = inQParams; self.weightQuantized = weightQuantized
            self.activationQuantized = activationQuantized; self.weightBits = weightBits; self.activationBits = activationBits
            self.weightGranularity = weightGranularity; self.weightScheme = weightScheme; self.activationScheme = activationScheme
            self.rounding = rounding; self.activationLower = activationLower; self.activationUpper = activationUpper
            self.activationStep = activationStep; self.weightLowerMin = weightLowerMin; self.weightUpperMax = weightUpperMax
            self.weightStepMin = weightStepMin; self.weightStepMax = weightStepMax; self.inputScaled = inputScaled
        }
    }

    /// Step sizes and bounds over all sites (the histograms of the `bounds` section).
    public struct BoundsData: Codable, Sendable {
        /// One per quantized activation site.
        public var activationSteps: [Double]
        public var activationUppers: [Double]
        /// One per output channel of every quantized weight.
        public var weightSteps: [Double]
        public init(activationSteps: [Double], activationUppers: [Double], weightSteps: [Double]) {
            self.activationSteps = activationSteps; self.activationUppers = activationUppers; self.weightSteps = weightSteps
        }
    }

    /// Signal-to-quantization-noise ratio 10·log10(Σv² / Σ(v − Q(v))²) in dB of one site's weight and input.
    public struct SQNRRow: Codable, Sendable {
        public var site: String
        public var weightDB: Double?
        public var activationDB: Double?
        public init(site: String, weightDB: Double?, activationDB: Double?) { self.site = site; self.weightDB = weightDB; self.activationDB = activationDB }
    }

    /// Outlier statistics of one set of values (`MomentAccumulator`): max |x| / RMS and Pearson's kurtosis.
    public struct OutlierStats: Codable, Sendable, Equatable {
        public var count: Int
        public var maxAbs: Double
        public var rms: Double?
        public var maxOverRMS: Double?
        public var kurtosis: Double?
        public init(_ m: MomentAccumulator) {
            count = m.count; maxAbs = m.maxAbs; rms = m.rms; maxOverRMS = m.maxOverRMS; kurtosis = m.kurtosis
        }
    }

    /// One quantized site's input: as the site receives it (x), after the plan's online rotation (x·R; nil when the
    /// site is not rotated) and as its quantizer receives it (divided by the HSO scales; nil without scales).
    public struct OutlierRow: Codable, Sendable {
        public var site: String
        public var input: OutlierStats
        public var rotated: OutlierStats?
        public var scaled: OutlierStats?
        public init(site: String, input: OutlierStats, rotated: OutlierStats?, scaled: OutlierStats?) {
            self.site = site; self.input = input; self.rotated = rotated; self.scaled = scaled
        }
    }

    public struct Outliers: Codable, Sendable {
        /// Where the inputs came from (the same FP forward as the SQNR section).
        public var source: String
        /// Whether the plan rotates any site (otherwise only the `input` column exists).
        public var planRotates: Bool
        public var rows: [OutlierRow]
        public init(source: String, planRotates: Bool, rows: [OutlierRow]) { self.source = source; self.planRotates = planRotates; self.rows = rows }
    }

    /// Output degradation with only one site's weights (or only its input activations) quantized.
    public struct SensitivityRow: Codable, Sendable {
        public var site: String
        /// Mean squared difference from the FP output (values in [0, 1]); nil = that side is not quantized.
        public var weightOnlyMSE: Double?
        public var activationOnlyMSE: Double?
        public init(site: String, weightOnlyMSE: Double?, activationOnlyMSE: Double?) {
            self.site = site; self.weightOnlyMSE = weightOnlyMSE; self.activationOnlyMSE = activationOnlyMSE
        }
    }

    public struct Sensitivity: Codable, Sendable {
        /// Where the LR patches came from (never a test set).
        public var patches: [String]
        public var seconds: Double
        public var rows: [SensitivityRow]
        public init(patches: [String], seconds: Double, rows: [SensitivityRow]) { self.patches = patches; self.seconds = seconds; self.rows = rows }
    }

    /// L_total before (MinMax start) and after calibration of one linear site, with the ABR trace when recorded.
    public struct ConvergenceRow: Codable, Sendable {
        public var site: String
        public var before: Double?
        public var after: Double?
        public var linearisedBefore: Double?
        public var linearisedAfter: Double?
        public var traceIterations: [Int]?
        public var traceLosses: [Double]?
        public init(site: String, before: Double?, after: Double?, linearisedBefore: Double?, linearisedAfter: Double?,
                    traceIterations: [Int]? = nil, traceLosses: [Double]? = nil) {
            self.site = site; self.before = before; self.after = after; self.linearisedBefore = linearisedBefore
            self.linearisedAfter = linearisedAfter; self.traceIterations = traceIterations; self.traceLosses = traceLosses
        }
    }

    public struct CertificateRow: Codable, Sendable {
        public var site: String
        public var certificate: SolveCertificate
        public init(site: String, certificate: SolveCertificate) { self.site = site; self.certificate = certificate }
    }

    public var header: Header
    public var manifest: [ManifestRow]
    public var bounds: BoundsData
    public var sqnr: [SQNRRow]
    /// Where the SQNR activations came from.
    public var sqnrInput: String
    /// Per-site outlier statistics of the quantizer inputs (nil: not measured).
    public var outliers: Outliers? = nil
    /// nil = not measured (say why in `sensitivityNote`).
    public var sensitivity: Sensitivity?
    public var sensitivityNote: String?
    public var convergence: [ConvergenceRow]
    /// Output-level refinements recorded in the QPARAMS (`QParams.refinements`), shown in the convergence section.
    public var refinements: [RefinementRecord]? = nil
    public var certificates: [CertificateRow]
    public var verdicts: VerdictTable
    public var images: ImageComparison?
    public var imagesNote: String?
    public var onnx: ONNXMismatchReport?
    /// Where the ONNX mismatch table came from (the --onnx-report path).
    public var onnxSource: String?

    public init(header: Header, manifest: [ManifestRow], bounds: BoundsData, sqnr: [SQNRRow], sqnrInput: String,
                sensitivity: Sensitivity?, sensitivityNote: String? = nil, convergence: [ConvergenceRow],
                certificates: [CertificateRow], verdicts: VerdictTable, images: ImageComparison?, imagesNote: String? = nil,
                onnx: ONNXMismatchReport?) {
        self.header = header; self.manifest = manifest; self.bounds = bounds; self.sqnr = sqnr; self.sqnrInput = sqnrInput
        self.sensitivity = sensitivity; self.sensitivityNote = sensitivityNote; self.convergence = convergence
        self.certificates = certificates; self.verdicts = verdicts; self.images = images; self.imagesNote = imagesNote; self.onnx = onnx
    }
}

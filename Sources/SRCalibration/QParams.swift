import Foundation
import HarmoQ
import SRIO

/// Quantization of one site as stored in a QPARAMS file.
///
/// Linear sites carry a full `LayerQuantization` (corrected weight, per-channel weight bounds, activation bounds,
/// HSO input scales); matmul-operand sites carry activation bounds only.
///
/// The activation grid (bits, scheme, rounding, integer zero point, bounds) is held once: a linear site's is its
/// layer's (`layer.activationPlan`, what the core calibrated and `LayerQuantization.forward` runs), an operand site's is
/// stored here. `activationBits`, `activationLower`, … read and write that one grid, so a site and its layer cannot
/// disagree.
public struct SiteQuantization: Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case linear, matmulOperand }
    public var name: String
    public var kind: Kind
    /// False for W-only runs (activation bits 32): the input is left in float.
    public var activationQuantized: Bool
    /// False for A-only runs (weight bits 32): the weight is left in float.
    public var weightQuantized: Bool
    /// The activation grid of a site without a layer (a matmul operand); nil while `layer` holds it.
    private var operandGrid: ActivationQuantizerPlan?
    /// Linear sites only, and then it holds the site's activation grid (a linear site keeps its layer).
    public var layer: LayerQuantization?
    /// L_total (deployment and linearised) at the MinMax start and after calibration (linear sites).
    public var before: LayerLosses?
    public var after: LayerLosses?
    /// Per-iteration ABR losses, when the calibrator recorded them (absent in older files; written only when set).
    public var convergence: ConvergenceTrace? = nil
    /// Certificate of the SRC linear solve, when the calibrator recorded it (absent = not recorded).
    public var solveCertificate: SolveCertificate? = nil
    /// Online rotation of a linear site's input (x → x·R before the quantizer; `layer.weight` is then W·R); nil = none.
    public var rotation: SiteRotation? = nil

    /// A linear site: the input's grid is `layer`'s.
    public init(linear name: String, layer: LayerQuantization, activationQuantized: Bool, weightQuantized: Bool,
                before: LayerLosses? = nil, after: LayerLosses? = nil, convergence: ConvergenceTrace? = nil,
                solveCertificate: SolveCertificate? = nil, rotation: SiteRotation? = nil) {
        self.name = name; kind = .linear; self.activationQuantized = activationQuantized; self.weightQuantized = weightQuantized
        operandGrid = nil; self.layer = layer
        self.before = before; self.after = after; self.convergence = convergence; self.solveCertificate = solveCertificate
        self.rotation = rotation
    }

    /// A matmul-operand site: activation bounds only (`activation` is its grid even when `activationQuantized` is false).
    public init(operand name: String, activation: ActivationQuantizerPlan, activationQuantized: Bool) {
        self.name = name; kind = .matmulOperand; self.activationQuantized = activationQuantized; weightQuantized = false
        operandGrid = activation; layer = nil
    }

    /// The stored activation grid, whether or not the input is quantized (`activationPlan` is the typed reading that is
    /// nil then): the layer's for a linear site, else the site's own.
    public var activationGrid: ActivationQuantizerPlan {
        get {
            if let l = layer { return l.activationPlan }
            guard let g = operandGrid else { preconditionFailure("site \(name): a linear site whose layer was removed has no activation grid") }
            return g
        }
        set {
            guard layer != nil else { operandGrid = newValue; return }
            layer!.activationBits = newValue.bits; layer!.activationScheme = newValue.scheme; layer!.rounding = newValue.rounding
            layer!.activationIntegerZeroPoint = newValue.integerZeroPoint ? true : nil
            layer!.activationLower = newValue.lower; layer!.activationUpper = newValue.upper
        }
    }

    public var activationBits: Int { get { activationGrid.bits } set { activationGrid.bits = newValue } }
    public var activationScheme: QuantScheme { get { activationGrid.scheme } set { activationGrid.scheme = newValue } }
    /// Rounding of the activation grid; a linear site's layer uses it for the weights too.
    public var rounding: Rounding { get { activationGrid.rounding } set { activationGrid.rounding = newValue } }
    public var activationLower: Float { get { activationGrid.lower } set { activationGrid.lower = newValue } }
    public var activationUpper: Float { get { activationGrid.upper } set { activationGrid.upper = newValue } }
    /// Affine activation grid with an integer zero point (`Quantizer(integerZeroPoint:)`); nil = float zero point
    /// (every file written before this field).
    public var activationIntegerZeroPoint: Bool? {
        get { activationGrid.integerZeroPoint ? true : nil }
        set { activationGrid.integerZeroPoint = newValue == true }
    }

    /// The stored activation grid's quantizer (also for a site whose input is not quantized; `activationPlan` is the
    /// typed reading that is nil then).
    public func activationQuantizer() throws -> Quantizer { try activationGrid.quantizer() }
}

/// A calibration result for a whole model: the QPARAMS file (safetensors with every site's tensors) plus a JSON
/// sidecar `<path>.json` with every other value (bits, schemes, granularity, the calibration settings and the model it
/// was calibrated on). Each value is stored once: see `QParamsSidecar` for what lives where.
///
/// Both files are written atomically, with sorted keys and no timestamps, so the same inputs and seed give the
/// same bytes. Tensors per site `<name>`: `<name>.weight` (m×d, the corrected weight that is quantized),
/// `<name>.weight_lower` / `.weight_upper` (m), `<name>.input_scale` (d, HSO; absent = 1), `<name>.activation_bounds` (2),
/// `<name>.rotation` (d×d, a stored online rotation; see `SiteRotation`).
///
/// Format `harmoq-qparams/2` adds `modelFingerprint` (`ModelFingerprint`, the weights calibrated on) and drops the
/// sidecar's copies of tensor values; `harmoq-qparams/1` files still load (unbound: no fingerprint).
public struct QParams: Codable, Sendable, Equatable {
    public static let format = "harmoq-qparams/2"
    /// The first format (sidecar with copies of the bounds and shapes, no model fingerprint): read, never written.
    public static let formatV1 = "harmoq-qparams/1"
    public var format: String = QParams.format
    public var toolVersion: String
    public var model: String
    /// `ModelFingerprint.of` the FP weights this plan was calibrated on ("sha256:…"); nil in files written before
    /// harmoq-qparams/2 (then the plan is unbound: only architecture and scale can be checked).
    public var modelFingerprint: String? = nil
    public var architecture: String
    public var scale: Int
    public var method: String
    public var weightBits: Int
    public var activationBits: Int
    public var seed: UInt64
    /// "quantized-prefix" (each site calibrated on inputs produced by the already-quantized sites before it) or "fp".
    public var inputs: String
    public var patchCount: Int
    public var patchSources: [String]
    public var notes: [String]
    public var config: HarmoQConfig?
    /// `--rotate` of the run (nil: none; absent in older files). Each rotated site records its own rotation.
    public var rotation: RotationKind? = nil
    /// Rotations of the attention operands folded into the qkv weights and biases (`OperandRotationFold`); nil = none.
    /// The folded biases are the qkv sites' `layer.bias`.
    public var operandRotation: OperandRotationFold.Record? = nil
    public var sites: [SiteQuantization]
    /// Output-level refinements applied to this plan, in order (`harmoq refine`, `calibrate --refine`): settings and
    /// loss traces. Optional: absent in files written before it existed and in unrefined plans (written only when set).
    public var refinements: [RefinementRecord]? = nil

    public init(toolVersion: String, model: String, architecture: String, scale: Int, method: String, weightBits: Int,
                activationBits: Int, seed: UInt64, inputs: String, patchCount: Int, patchSources: [String], notes: [String],
                config: HarmoQConfig?, sites: [SiteQuantization]) {
        self.toolVersion = toolVersion; self.model = model; self.architecture = architecture; self.scale = scale
        self.method = method; self.weightBits = weightBits; self.activationBits = activationBits; self.seed = seed
        self.inputs = inputs; self.patchCount = patchCount; self.patchSources = patchSources; self.notes = notes
        self.config = config; self.sites = sites
    }

    static func sidecarPath(_ path: String) -> String { path + ".json" }

    /// Writes `path` (safetensors) and `path.json` (sidecar) atomically, in the current format.
    public func write(to path: String) throws {
        try checkFinite("QPARAMS '\(path)' not written")
        try checkConsistent("QPARAMS '\(path)' not written")
        var tensors: [String: Tensor] = [:]
        for s in sites {
            tensors[s.name + ".activation_bounds"] = Tensor(shape: [2], data: [s.activationLower, s.activationUpper])
            if let l = s.layer {
                tensors[s.name + ".weight"] = Tensor(shape: [l.outputs, l.inputs], data: l.weight)
                tensors[s.name + ".weight_lower"] = Tensor(shape: [l.outputs], data: l.weightLower)
                tensors[s.name + ".weight_upper"] = Tensor(shape: [l.outputs], data: l.weightUpper)
                if let sc = l.inputScale { tensors[s.name + ".input_scale"] = Tensor(shape: [l.inputs], data: sc) }
                if let b = l.bias { tensors[s.name + ".bias"] = Tensor(shape: [l.outputs], data: b) }
            }
            if let r = s.rotation, let m = r.matrix { tensors[s.name + ".rotation"] = Tensor(shape: [r.order, r.order], data: m) }
        }
        try SafeTensors.write(tensors, metadata: ["format": QParams.format, "sidecar": "<this file>.json"], to: path)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try AtomicFile.write(try enc.encode(QParamsSidecar(self)), to: QParams.sidecarPath(path))
    }

    /// Reads `path` and `path.json` (format 2, or 1 with its copies checked against the tensors), then checks that every
    /// value is usable (finite, lower < upper, shapes, bits agree with the run's). Every problem names the site.
    public static func read(path: String) throws -> QParams {
        let sidecar = sidecarPath(path)
        guard FileManager.default.fileExists(atPath: sidecar) else {
            throw QuantError("QPARAMS sidecar '\(sidecar)' is missing (a QPARAMS file is the safetensors file plus its .json)")
        }
        let json = try Data(contentsOf: URL(fileURLWithPath: sidecar))
        let dec = JSONDecoder()
        dec.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        struct FormatProbe: Decodable { var format: String }
        let format: String
        do { format = try dec.decode(FormatProbe.self, from: json).format } catch {
            throw QuantError("QPARAMS sidecar '\(sidecar)' is not a \(QParams.format) file: \(error)")
        }
        let file = try SafeTensors.read(path: path)
        let tensors = QParamsTensors(file: file, path: path)
        var q: QParams
        do {
            switch format {
            case QParams.format: q = try fromV2(try dec.decode(QParamsSidecar.self, from: json), tensors)
            case QParams.formatV1: q = try readV1(json, dec, tensors)
            default: throw QuantError("QPARAMS '\(sidecar)' has format '\(format)', expected '\(QParams.format)' (or '\(QParams.formatV1)')")
            }
        } catch let e as DecodingError {
            throw QuantError("QPARAMS sidecar '\(sidecar)' is not a valid \(format) file: \(e)")
        }
        try tensors.checkAllUsed(by: q)
        try q.checkFinite("QPARAMS '\(path)'")
        try q.checkConsistent("QPARAMS '\(path)'")
        return q
    }
}

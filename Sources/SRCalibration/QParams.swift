import Foundation
import HarmoQ
import SRIO

/// Quantization of one site as stored in a QPARAMS file.
///
/// Linear sites carry a full `LayerQuantization` (corrected weight, per-channel weight bounds, activation bounds,
/// HSO input scales); matmul-operand sites carry activation bounds only.
public struct SiteQuantization: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case linear, matmulOperand }
    public var name: String
    public var kind: Kind
    /// False for W-only runs (activation bits 32): the input is left in float.
    public var activationQuantized: Bool
    /// False for A-only runs (weight bits 32): the weight is left in float.
    public var weightQuantized: Bool
    public var activationBits: Int
    public var activationScheme: QuantScheme
    public var rounding: Rounding
    public var activationLower: Float
    public var activationUpper: Float
    /// Linear sites only.
    public var layer: LayerQuantization?
    /// L_total (deployment and linearised) at the MinMax start and after calibration (linear sites).
    public var before: LayerLosses?
    public var after: LayerLosses?
    /// Per-iteration ABR losses, when the calibrator recorded them (absent in older files; written only when set).
    public var convergence: ConvergenceTrace? = nil
    /// Certificate of the SRC linear solve, when the calibrator recorded it (absent = not recorded).
    public var solveCertificate: SolveCertificate? = nil

    public func activationQuantizer() throws -> Quantizer {
        try Quantizer(bits: activationBits, lower: activationLower, upper: activationUpper,
                      scheme: activationScheme, rounding: rounding)
    }
}

/// A calibration result for a whole model: the QPARAMS file (safetensors with every site's tensors) plus a JSON
/// sidecar `<path>.json` with every site's bits, granularity, schemes, bounds and the calibration settings.
///
/// Both files are written atomically, with sorted keys and no timestamps, so the same inputs and seed give the
/// same bytes. Tensors per site `<name>`: `<name>.weight` (m×d, the corrected weight that is quantized),
/// `<name>.weight_lower` / `.weight_upper` (m), `<name>.input_scale` (d, HSO; absent = 1), `<name>.activation_bounds` (2).
public struct QParams: Codable, Sendable, Equatable {
    public static let format = "harmoq-qparams/1"
    public var format: String = QParams.format
    public var toolVersion: String
    public var model: String
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
    public var sites: [SiteQuantization]

    public init(toolVersion: String, model: String, architecture: String, scale: Int, method: String, weightBits: Int,
                activationBits: Int, seed: UInt64, inputs: String, patchCount: Int, patchSources: [String], notes: [String],
                config: HarmoQConfig?, sites: [SiteQuantization]) {
        self.toolVersion = toolVersion; self.model = model; self.architecture = architecture; self.scale = scale
        self.method = method; self.weightBits = weightBits; self.activationBits = activationBits; self.seed = seed
        self.inputs = inputs; self.patchCount = patchCount; self.patchSources = patchSources; self.notes = notes
        self.config = config; self.sites = sites
    }

    static func sidecarPath(_ path: String) -> String { path + ".json" }

    /// The sidecar: every field except the big per-site arrays (those live in the safetensors file).
    func sidecar() -> QParams {
        var s = self
        s.sites = sites.map { site in
            var t = site
            if var l = t.layer { l.weight = []; l.weightLower = []; l.weightUpper = []; l.inputScale = nil; t.layer = l }
            return t
        }
        return s
    }

    /// Writes `path` (safetensors) and `path.json` (sidecar) atomically.
    public func write(to path: String) throws {
        try checkFinite("QPARAMS '\(path)' not written")
        var tensors: [String: Tensor] = [:]
        for s in sites {
            tensors[s.name + ".activation_bounds"] = Tensor(shape: [2], data: [s.activationLower, s.activationUpper])
            if let l = s.layer {
                tensors[s.name + ".weight"] = Tensor(shape: [l.outputs, l.inputs], data: l.weight)
                tensors[s.name + ".weight_lower"] = Tensor(shape: [l.outputs], data: l.weightLower)
                tensors[s.name + ".weight_upper"] = Tensor(shape: [l.outputs], data: l.weightUpper)
                if let sc = l.inputScale { tensors[s.name + ".input_scale"] = Tensor(shape: [l.inputs], data: sc) }
            }
        }
        try SafeTensors.write(tensors, metadata: ["format": QParams.format, "sidecar": "<this file>.json"], to: path)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try AtomicFile.write(try enc.encode(sidecar()), to: QParams.sidecarPath(path))
    }

    /// Reads `path` and `path.json`; the tensors replace the sidecar's (stripped) arrays bit for bit.
    public static func read(path: String) throws -> QParams {
        let sidecar = sidecarPath(path)
        guard FileManager.default.fileExists(atPath: sidecar) else {
            throw QuantError("QPARAMS sidecar '\(sidecar)' is missing (a QPARAMS file is the safetensors file plus its .json)")
        }
        let dec = JSONDecoder()
        dec.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var q: QParams
        do { q = try dec.decode(QParams.self, from: try Data(contentsOf: URL(fileURLWithPath: sidecar))) } catch {
            throw QuantError("QPARAMS sidecar '\(sidecar)' is not a valid \(QParams.format) file: \(error)")
        }
        guard q.format == QParams.format else { throw QuantError("QPARAMS '\(sidecar)' has format '\(q.format)', expected '\(QParams.format)'") }
        let file = try SafeTensors.read(path: path)
        func t(_ key: String) throws -> Tensor {
            guard file.entries[key] != nil else { throw QuantError("QPARAMS '\(path)' lacks tensor '\(key)'") }
            return try file.tensor(key)
        }
        for i in q.sites.indices {
            let name = q.sites[i].name
            let b = try t(name + ".activation_bounds")
            guard b.count == 2 else { throw QuantError("QPARAMS '\(path)': \(name).activation_bounds must hold 2 values") }
            q.sites[i].activationLower = b.data[0]; q.sites[i].activationUpper = b.data[1]
            if var l = q.sites[i].layer {
                l.weight = try t(name + ".weight").data
                l.weightLower = try t(name + ".weight_lower").data
                l.weightUpper = try t(name + ".weight_upper").data
                l.inputScale = file.entries[name + ".input_scale"] != nil ? try t(name + ".input_scale").data : nil
                guard l.weight.count == l.outputs * l.inputs, l.weightLower.count == l.outputs, l.weightUpper.count == l.outputs else {
                    throw QuantError("QPARAMS '\(path)': tensors of site \(name) do not match its \(l.outputs)×\(l.inputs) shape")
                }
                l.activationLower = b.data[0]; l.activationUpper = b.data[1]
                q.sites[i].layer = l
            }
        }
        try q.checkFinite("QPARAMS '\(path)'")
        return q
    }
}

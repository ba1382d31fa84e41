import Foundation
import HarmoQ
import SRCalibration
import SREngine
import SRIO

/// `harmoq export-onnx`: one ONNX QDQ graph per quantized Linear site of a calibrated model, plus, for each
/// site, the real input activations captured on fixed LR calibration patches, this project's int8 activation codes
/// and its fake-quant output for those inputs (`reference`), all indexed by `index.json` in the output folder.
///
/// Files per exported site (prefix `NNN_<site>`): `.onnx`, `.x.f32` (rows×d input, raw little-endian float32),
/// `.y.f32` (rows×m: what the quantized model computes at the site), `.codes.i8` (rows×d activation codes, int8 or, for an
/// affine grid, uint8; when the input is quantized). Sites that cannot be written exactly as QDQ are listed with the reason.
public enum SiteExport {
    public static let format = "harmoq-onnx-sites/1"

    public struct Request: Sendable {
        public var modelPath: String
        public var quantPath: String
        public var outDir: String
        /// Export the first `siteLimit` quantized Linear sites in execution order (nil = all).
        public var siteLimit: Int?
        public var sources: [String]
        public var patchCount = 1
        public var patchSeed: UInt64 = 1
        /// Rows kept per site (evenly spaced over all captured rows; 0 = all).
        public var rowsPerSite = 1024
        public var toolVersion: String
        /// Export a QPARAMS calibrated on another model (architecture, scale or weights) with a warning instead of refusing.
        public var allowModelMismatch = false

        public init(modelPath: String, quantPath: String, outDir: String, siteLimit: Int?, sources: [String], toolVersion: String) {
            self.modelPath = modelPath; self.quantPath = quantPath; self.outDir = outDir; self.siteLimit = siteLimit
            self.sources = sources; self.toolVersion = toolVersion
        }
    }

    /// One site's entry in index.json.
    public struct Entry: Codable, Sendable {
        public var site: String
        public var exported: Bool
        public var reason: String?
        public var onnx: String?
        public var input: String?
        public var output: String?
        public var codes: String?
        public var rows: Int
        public var inFeatures: Int
        public var outFeatures: Int
        public var activationBits: Int?
        /// "symmetric" (int8 codes) or "affine" (uint8 codes of round((clip(x,α,β) − α)/Δ)).
        public var activationScheme: String?
        public var activationStep: Float?
        public var activationLower: Float?
        public var activationUpper: Float?
        public var codeMin: Int?
        public var codeMax: Int?
        /// Integer zero point z of an affine activation grid (codes round(x/Δ) + z, x̂ = (q − z)·Δ, plain QDQ); nil = none
        /// (symmetric, or affine with the float zero point −α/Δ written as the float shift).
        public var activationZeroPoint: Int?
        /// HSO per-input-channel divisor, applied before the activation quantizer (also an initializer of the graph).
        public var hsoScale: [Float]?
        public var weightBits: Int?
        public var hasBias: Bool
        /// The online rotation's kind when the site has one (the graph's initializer `rotation` is R).
        public var rotation: String?
    }

    public struct Index: Codable, Sendable {
        public var format: String
        public var toolVersion: String
        public var model: String
        public var quant: String
        public var method: String
        public var bits: String
        public var irVersion: Int
        public var opset: Int
        public var dataLayout: String
        public var patches: [String]
        public var rowsPerSite: Int
        public var sites: [Entry]
    }

    /// Runs the export and writes `index.json`; returns the index.
    public static func run(_ r: Request, log: ((String) -> Void)? = nil) throws -> Index {
        let (model, identity) = try ModelIdentity.load(path: r.modelPath)
        let qp = try QParams.read(path: r.quantPath, for: identity, allowMismatch: r.allowModelMismatch) { log?($0) }
        try QuantizedModel.apply(qp, to: model)
        let patches = try CalibrationPatches.draw(count: r.patchCount, scale: model.scale, seed: r.patchSeed, sources: r.sources)
        let capture = PreQuantizationCapture(inner: model.hook)
        model.hook = capture
        for lr in patches.lr { _ = try model.forward(lr) }
        model.hook = capture.inner

        try FileManager.default.createDirectory(atPath: r.outDir, withIntermediateDirectories: true)
        var linear = qp.sites.filter { $0.layer != nil && ($0.activationPlan != nil || $0.weightPlan != nil) }
        if let n = r.siteLimit { linear = Array(linear.prefix(n)) }
        var entries: [Entry] = []
        for (i, s) in linear.enumerated() {
            let l = s.layer!
            guard let cap = capture.inputs[s.name] else { throw QuantError("site \(s.name) received no input during the forward") }
            guard cap.cols == l.inputs else { throw QuantError("site \(s.name): captured \(cap.cols) columns, QPARAMS has d = \(l.inputs)") }
            let keep = rowSubset(total: cap.values.count / l.inputs, keep: r.rowsPerSite)
            let x = gatherRows(cap.values, cols: l.inputs, rows: keep)
            let site = try model.site(named: s.name)
            let bias = try model.linearWeight(site).bias?.data
            var e = Entry(site: s.name, exported: false, reason: SiteGraph.obstacle(s), rows: keep.count, inFeatures: l.inputs,
                          outFeatures: l.outputs, hasBias: bias != nil)
            if e.reason == nil {
                let prefix = String(format: "%03d_", i) + s.name
                let graph = try SiteGraph.build(s, bias: bias, producerVersion: r.toolVersion,
                                                metadata: [("qparams", r.quantPath), ("method", qp.method)])
                try AtomicFile.write(Data(graph.serialized()), to: r.outDir + "/" + prefix + ".onnx")
                let (y, codes) = try reference(model: model, site: site, quantization: s, x: x)
                try AtomicFile.write(bytes(of: x), to: r.outDir + "/" + prefix + ".x.f32")
                try AtomicFile.write(bytes(of: y), to: r.outDir + "/" + prefix + ".y.f32")
                e.exported = true
                e.onnx = prefix + ".onnx"; e.input = prefix + ".x.f32"; e.output = prefix + ".y.f32"
                if let codes {
                    try AtomicFile.write(Data(codes), to: r.outDir + "/" + prefix + ".codes.i8")
                    let q = try s.activationQuantizer()   // codes are written only for a quantized input
                    e.codes = prefix + ".codes.i8"
                    e.activationBits = q.bits; e.activationStep = q.step; e.activationScheme = q.scheme.rawValue
                    e.activationLower = q.lower; e.activationUpper = q.upper
                    e.codeMin = Int(q.codeMin); e.codeMax = Int(q.codeMax)
                    e.activationZeroPoint = q.zeroPoint.map(Int.init)
                    e.hsoScale = s.inputScale
                }
                e.rotation = s.rotation?.kind.rawValue
                e.weightBits = s.weightPlan?.bits
            }
            log?("\(e.exported ? "exported" : "skipped ") \(s.name) (\(keep.count)×\(l.inputs) → \(l.outputs))\(e.reason.map { ": " + $0 } ?? "")")
            entries.append(e)
        }
        let index = Index(format: format, toolVersion: r.toolVersion, model: r.modelPath, quant: r.quantPath, method: qp.method,
                          bits: "w\(qp.weightBits)a\(qp.activationBits)", irVersion: Int(ONNXModel.irVersion),
                          opset: Int(ONNXModel.opset), dataLayout: "raw little-endian, row-major; .f32 float32, .codes.i8 int8 (symmetric) or uint8 (affine)",
                          patches: patches.origins.map { "\(($0.source as NSString).lastPathComponent)@\($0.x),\($0.y)" },
                          rowsPerSite: r.rowsPerSite, sites: entries)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try enc.encode(index), to: r.outDir + "/index.json")
        return index
    }

    /// What the quantized model computes at this Linear site for input `x` (rows×d), by the model's own machinery:
    /// the installed hook (`QuantizedModel`: x ← Q_x(x ⊘ s) on the float path) processes a copy of x, then the
    /// model's `LinearExecutor` runs the site if it takes it (code-domain fake quantization), else the engine's float
    /// GEMM with the installed weight Ŵ and the bias — the same steps as the engine's Linear. Also the activation
    /// codes `Quantizer.code(x ⊘ s)`.
    public static func reference(model: any SRModel, site: Site, quantization s: SiteQuantization,
                                 x: [Float]) throws -> (y: [Float], codes: [UInt8]?) {
        guard case let .linear(d, m) = site.kind else { throw QuantError("site \(site.name) is not a Linear site") }
        guard x.count % d == 0 else { throw QuantError("site \(site.name): input has \(x.count) values, not a multiple of d = \(d)") }
        let rows = x.count / d
        var codes: [UInt8]? = nil
        if let a = s.activationPlan {
            let q = try a.quantizer()
            let scale = s.inputScale?.count == d ? s.inputScale : nil
            // The quantizer's input: x·R by the same OnlineRotation the hook runs, when the site is rotated.
            let xq = try s.rotation.map { r in
                try x.withUnsafeBufferPointer { OnlineRotation(try r.rotation()).rotated($0, rows: rows) }
            } ?? x
            // One byte per code: int8 two's complement (symmetric) or uint8 (affine, 0 … 2^b − 1).
            codes = xq.indices.map { i in UInt8(truncatingIfNeeded: q.code(scale.map { xq[i] / $0[i % d] } ?? xq[i])) }
        }
        var xin = x
        let index = model.sites.firstIndex(of: site) ?? 0
        if let hook = model.hook {
            xin.withUnsafeMutableBufferPointer { hook.process(site: site, index: index, values: $0, rows: rows, cols: d) }
        }
        var y = [Float](repeating: 0, count: rows * m)
        let done = xin.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
            model.linearExecutor?.execute(site: site, x: xp.baseAddress!, ldx: d, rows: rows, out: yp.baseAddress!, ldo: m) ?? false
        } }
        if !done {
            let (w, b) = try model.linearWeight(site)
            let packed = GEMM.Packed(transposeOf: w.data, rows: m, cols: d)
            xin.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
                if let b {
                    b.data.withUnsafeBufferPointer { bp in
                        GEMM.multiply(m: rows, a: xp.baseAddress!, lda: d, packed: packed, c: yp.baseAddress!, ldc: m, bias: bp.baseAddress!)
                    }
                } else {
                    GEMM.multiply(m: rows, a: xp.baseAddress!, lda: d, packed: packed, c: yp.baseAddress!, ldc: m)
                }
            } }
        }
        return (y, codes)
    }

    /// `keep` row indices evenly spaced over `total` (all rows when keep is 0 or ≥ total).
    public static func rowSubset(total: Int, keep: Int) -> [Int] {
        if keep <= 0 || keep >= total { return Array(0..<total) }
        return (0..<keep).map { $0 * total / keep }
    }

    static func gatherRows(_ v: [Float], cols: Int, rows: [Int]) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(rows.count * cols)
        for r in rows { out.append(contentsOf: v[(r * cols)..<((r + 1) * cols)]) }
        return out
    }

    static func bytes(of v: [Float]) -> Data {
        var le = v.map { $0.bitPattern.littleEndian }
        return Data(bytes: &le, count: le.count * 4)
    }
}

import Foundation
import HarmoQ
import SREngine
import SRIO
import SRCalibration

/// Measures everything `harmoq audit` reports for one model and one QPARAMS file.
public enum AuditBuilder {
    public struct Options: Sendable {
        public var modelPath: String
        public var qparamsPath: String
        /// Benchmark folder for the per-image table and crops; nil = skip them.
        public var setDir: String?
        public var imageLimit: Int?
        /// Folders the fixed LR patches (SQNR inputs, sensitivity) are drawn from; never a test set.
        public var patchSources: [String]
        /// 1 or 2 patches of 64×64.
        public var patchCount = 1
        public var patchSeed: UInt64 = 0
        public var sensitivity = true
        public var verdicts: VerdictTable
        public var onnx: ONNXMismatchReport?
        public var onnxSource: String?
        public var command: String
        public var toolVersion: String
        /// Audit a QPARAMS calibrated on another model (architecture, scale or weights) with a warning instead of refusing.
        public var allowModelMismatch = false

        public init(modelPath: String, qparamsPath: String, setDir: String?, patchSources: [String], verdicts: VerdictTable,
                    onnx: ONNXMismatchReport?, command: String, toolVersion: String) {
            self.modelPath = modelPath; self.qparamsPath = qparamsPath; self.setDir = setDir; self.patchSources = patchSources
            self.verdicts = verdicts; self.onnx = onnx; self.command = command; self.toolVersion = toolVersion
        }
    }

    public static func build(_ o: Options, log: ((String) -> Void)? = nil) throws -> AuditReport {
        guard (1...2).contains(o.patchCount) else { throw ReportError("patch count must be 1 or 2, got \(o.patchCount)") }
        let (model, identity) = try ModelIdentity.load(path: o.modelPath)
        let q = try QParams.read(path: o.qparamsPath, for: identity, allowMismatch: o.allowModelMismatch) { log?($0) }
        let infos = model.sites.map { AuditManifest.SiteInfo(name: $0.name, kind: $0.kind.description) }
        let manifest = try AuditManifest.rows(sites: infos, qparams: q)
        let patches = try CalibrationPatches.draw(count: o.patchCount, scale: model.scale, seed: o.patchSeed, sources: o.patchSources)
        let patchNames = patches.origins.map { "\(($0.source as NSString).lastPathComponent)@\($0.x),\($0.y)" }
        log?("audit: \(model.architecture.rawValue) ×\(model.scale), \(model.sites.count) sites, \(q.sites.count) in the QPARAMS; patches \(patchNames.joined(separator: ", "))")

        let aSQNR = try ModelProbes.activationSQNR(model: model, qparams: q, patches: patches.lr)
        let sqnr = try q.sites.map { AuditReport.SQNRRow(site: $0.name, weightDB: try AuditManifest.weightSQNR($0), activationDB: aSQNR[$0.name]) }

        var sensitivity: AuditReport.Sensitivity?
        var sensitivityNote: String?
        if o.sensitivity {
            let t0 = Date()
            let rows = try ModelProbes.sensitivity(model: model, qparams: q, patches: patches.lr, log: log)
            sensitivity = .init(patches: patchNames.map { "\($0) (seed \(o.patchSeed))" }, seconds: Date().timeIntervalSince(t0), rows: rows)
        } else { sensitivityNote = "not measured (--no-sensitivity)" }

        var images: ImageComparison?
        var imagesNote: String?
        if let dir = o.setDir {
            let set = try BenchmarkSet.load(dir: dir, scale: model.scale)
            images = try ImageProbe.compare(model: model, qparams: q, set: set, limit: o.imageLimit, log: log)
        } else { imagesNote = "not measured (no benchmark set: --set none)" }

        let header = AuditReport.Header(model: (o.modelPath as NSString).lastPathComponent, qparams: (o.qparamsPath as NSString).lastPathComponent,
                                        architecture: model.architecture.rawValue, scale: model.scale, method: q.method,
                                        bits: "W\(q.weightBits)A\(q.activationBits)", toolVersion: o.toolVersion, command: o.command,
                                        notes: q.notes + ["QPARAMS made by harmoq \(q.toolVersion) from \(q.model); inputs: \(q.inputs); \(q.patchCount) calibration patches"])
        var report = AuditReport(header: header, manifest: manifest, bounds: try AuditManifest.bounds(q), sqnr: sqnr,
                           sqnrInput: "an FP forward over \(patchNames.count) fixed 64×64 LR patch(es): \(patchNames.joined(separator: ", "))",
                           sensitivity: sensitivity, sensitivityNote: sensitivityNote, convergence: AuditManifest.convergence(q),
                           certificates: AuditManifest.certificates(q), verdicts: o.verdicts, images: images, imagesNote: imagesNote, onnx: o.onnx)
        report.outliers = try ModelProbes.outliers(model: model, qparams: q, patches: patches.lr, source: report.sqnrInput)
        report.onnxSource = o.onnxSource
        report.refinements = q.refinements
        return report
    }

    /// Writes `html` and the Markdown beside it (same path with .md), atomically.
    public static func write(_ r: AuditReport, html: String) throws -> String {
        let md = ((html as NSString).deletingPathExtension) + ".md"
        try AtomicFile.write(AuditHTML.render(r), to: html)
        try AtomicFile.write(AuditMarkdown.render(r, htmlName: (html as NSString).lastPathComponent), to: md)
        return md
    }
}

import Foundation
import HarmoQ
import SREngine
import SRIO

/// The paper's Tables 1–3 and the O1 table of issue #5, regenerated on DAT-light by one command (`harmoq tables`).
///
/// Every cell = calibrate (`ModelCalibrator`, quantized-prefix inputs) → apply (`QuantizedModel`) → evaluate
/// (`SREvaluation.run`, Y-channel PSNR/SSIM, border = scale). The paper's numbers are on SwinIR-light and are not
/// reproduced here; they may be quoted beside these only as the paper's.
public enum PaperTables {
    public struct Spec: Codable, Sendable, Equatable {
        public var label: String
        public var scales: [Int]
        public var sets: [String]
        public var table1Bits: [Int]
        public var table1Methods: [String]
        public var ablationBits: Int
        public var o1Bits: [Int]
        public var patches: Int
        public var iterations: Int
        public var refinementRows: Int
        /// Evaluate only the first N images of each set (nil = all).
        public var imageLimit: Int?
        public var tables: [String]
        public var seed: UInt64
        /// `--rotate`: online rotations in every calibration (nil = none; absent from older JSON).
        public var rotation: RotationKind? = nil
        /// `--refine-methods`: Table-1 methods that also get a row "<method> + block refinement" (the same plan after
        /// `BlockReconstruction` with its default options, on the same patches; nil = none; absent from older JSON).
        public var refineMethods: [String]? = nil

        /// A few minutes on 2 cores: ×2, Set5, 2 patches, 40 ABR iterations, W4A4 for Table 1.
        public static let quick = Spec(label: "quick", scales: [2], sets: ["Set5"], table1Bits: [4],
                                       table1Methods: ["minmax", "percentile", "dobi", "harmoq-literal", "harmoq"],
                                       ablationBits: 3, o1Bits: [4], patches: 2, iterations: 40, refinementRows: 512,
                                       imageLimit: nil, tables: ["1", "2", "3", "O1"], seed: 0)
        /// The issue's tables: ×2 and ×4, Set5 + Set14, W2/W3/W4 (+W8), 32 patches, 300 ABR iterations.
        public static let full = Spec(label: "full", scales: [2, 4], sets: ["Set5", "Set14"], table1Bits: [2, 3, 4, 8],
                                      table1Methods: ["minmax", "percentile", "dobi", "harmoq-literal", "harmoq"],
                                      ablationBits: 3, o1Bits: [4, 3, 2], patches: 32, iterations: 300, refinementRows: 1024,
                                      imageLimit: nil, tables: ["1", "2", "3", "O1"], seed: 0)
    }

    public struct Cell: Codable, Sendable {
        public var table: String
        public var row: String
        public var bits: String
        public var set: String
        public var scale: Int
        public var psnr: Double
        public var ssim: Double
        public var calibrationSeconds: Double
        /// Peak resident memory during this cell's calibration (VmHWM after a reset), MiB; nil where /proc is missing.
        public var calibrationPeakMiB: Double? = nil
    }

    /// The registered method `name` (`MethodRegistry`) with this run's budget and seed, and the ablation / projection
    /// of Tables 2 and 3.
    public static func method(_ name: String, spec: Spec, ablate: (src: Bool, hso: Bool, abr: Bool) = (true, true, true),
                              projection: ProjectionKind? = nil) throws -> CalibrationMethod {
        var st = MethodSettings()
        st.iterations = spec.iterations
        st.refinementRows = spec.refinementRows
        st.seed = spec.seed
        if !ablate.src { st.disabled.insert(.src) }
        if !ablate.hso { st.disabled.insert(.hso) }
        if !ablate.abr { st.disabled.insert(.abr) }
        st.projection = projection
        return try MethodRegistry.method(name, st)
    }

    /// The JSON file `harmoq tables` writes beside the Markdown (and `--render` reads back).
    public struct Document: Codable, Sendable {
        public var command: String
        public var spec: Spec
        public var cells: [Cell]
        public init(command: String, spec: Spec, cells: [Cell]) { self.command = command; self.spec = spec; self.cells = cells }
    }

    /// Runs every requested table; `log` gets one progress line per cell.
    public static func run(spec: Spec, shared: String, log: ((String) -> Void)? = nil) throws -> [Cell] {
        var cells: [Cell] = []
        let start = Date()
        for scale in spec.scales {
            let modelPath = shared + "/models/dat-light-x\(scale).safetensors"
            let weights = try ModelLoader.readStateDict(path: modelPath)
            let fingerprint = ModelFingerprint.of(weights)
            let patches = try CalibrationPatches.draw(count: spec.patches, scale: scale, seed: spec.seed,
                                                      sources: [shared + "/data/DIV2K-calib", shared + "/data/train/T91"])
            let sets = try spec.sets.map { try BenchmarkSet.load(dir: shared + "/data/" + $0, scale: scale) }
            let model = try ModelLoader.build(weights: weights, source: modelPath)
            func evaluate(_ table: String, _ row: String, _ bits: String, _ qp: QParams?, _ seconds: Double, _ peak: Double? = nil) throws {
                if let qp { try QuantizedModel.apply(qp, to: model) } else { QuantizedModel.remove(from: model) }
                for set in sets {
                    let r = try SREvaluation.run(set: set, scale: scale, limit: spec.imageLimit) { try model.forward($0) }
                    cells.append(Cell(table: table, row: row, bits: bits, set: set.name, scale: scale, psnr: r.meanPSNRY,
                                      ssim: r.meanSSIMY, calibrationSeconds: seconds, calibrationPeakMiB: peak))
                    log?(String(format: "table %@ ×%d %@ %@ %@: PSNR %.3f SSIM %.4f (calibration %.0f s; elapsed %.0f s)", table, scale,
                                row, bits, set.name, r.meanPSNRY, r.meanSSIMY, seconds, Date().timeIntervalSince(start)))
                }
                QuantizedModel.remove(from: model)
            }
            func calibrate(_ m: CalibrationMethod, _ wb: Int, _ ab: Int) throws -> (QParams, Double, Double?) {
                let t0 = Date()
                let peakIsPerCell = ProcessMemory.resetPeak()
                var o = ModelCalibrationOptions(method: m, weightBits: wb, activationBits: ab)
                o.seed = spec.seed
                o.rotation = spec.rotation
                let sites = try ModelCalibrator.calibrate(weights: weights, patches: patches.lr, options: o)
                var qp = QParams(calibrated: o, modelPath: modelPath, architecture: model.architecture.rawValue, scale: scale,
                                 toolVersion: "tables", patchCount: spec.patches, patchSources: [], notes: [], sites: sites)
                qp.modelFingerprint = fingerprint
                return (qp, Date().timeIntervalSince(t0), peakIsPerCell ? ProcessMemory.peakResidentMiB() : nil)
            }
            if spec.tables.contains("1") || spec.tables.contains("O1") { try evaluate("1", "FP (DAT-light)", "32", nil, 0) }
            if spec.tables.contains("1") {
                cells += try bicubicCells(sets: sets, scale: scale, limit: spec.imageLimit)
                for b in spec.table1Bits {
                    for name in spec.table1Methods {
                        let (qp, s, peak) = try calibrate(try method(name, spec: spec), b, b)
                        try evaluate("1", name, "W\(b)A\(b)", qp, s, peak)
                        if spec.refineMethods?.contains(name) == true {
                            let t0 = Date()
                            let r = try BlockReconstruction.refine(plan: qp, weights: weights, patches: patches.lr)
                            try evaluate("1", name + " + block refinement", "W\(b)A\(b)", r.qparams, s + Date().timeIntervalSince(t0), peak)
                        }
                    }
                }
            }
            let ab = spec.ablationBits
            if spec.tables.contains("2") {
                for src in [false, true] { for hso in [false, true] { for abr in [false, true] {
                    let row = [src ? "SRC" : nil, hso ? "HSO" : nil, abr ? "ABR" : nil].compactMap { $0 }.joined(separator: "+")
                    let m: CalibrationMethod = (src || hso || abr) ? try method("harmoq", spec: spec, ablate: (src, hso, abr)) : .minMax
                    let (qp, s, peak) = try calibrate(m, ab, ab)
                    try evaluate("2", row.isEmpty ? "none (MinMax)" : row, "W\(ab)A\(ab)", qp, s, peak)
                } } }
            }
            if spec.tables.contains("3") {
                let (qp0, s0, peak0) = try calibrate(try method("harmoq", spec: spec, ablate: (false, true, true)), ab, ab)
                try evaluate("3", "w/o SRC", "W\(ab)A\(ab)", qp0, s0, peak0)
                for p in [ProjectionKind.identity, .laplacian, .sobel, .dctHighPass, .learned, .random] {
                    var m = try method("harmoq", spec: spec, projection: p)
                    if case .harmoq(var c) = m, p == .learned || p == .random { c.projectionAxis = .channels; m = .harmoq(c) }
                    let (qp, s, peak) = try calibrate(m, ab, ab)
                    let axis = (p == .learned || p == .random) ? "channels" : (p == .identity ? "—" : "tokens")
                    try evaluate("3", "\(p.rawValue) (\(axis))", "W\(ab)A\(ab)", qp, s, peak)
                }
            }
            if spec.tables.contains("O1") {
                for b in spec.o1Bits {
                    let (qw, sw, pw) = try calibrate(.minMax, b, 32)
                    try evaluate("O1", "weight-only (MinMax)", "W\(b)A32", qw, sw, pw)
                    let (qa, sa, pa) = try calibrate(.minMax, 32, b)
                    try evaluate("O1", "activation-only (MinMax)", "W32A\(b)", qa, sa, pa)
                }
            }
        }
        return cells
    }

    /// Evaluates an existing QPARAMS file (model `<shared>/models/<qparams.model>`) on `sets`; returns (set, PSNR, SSIM).
    public static func evaluate(qparamsPath: String, shared: String, sets: [String], limit: Int?,
                                log: ((String) -> Void)? = nil) throws -> [(String, Double, Double)] {
        let qp = try QParams.read(path: qparamsPath)
        let (model, identity) = try ModelIdentity.load(path: shared + "/models/" + qp.model)
        try qp.checkBinding(to: identity, source: qparamsPath, allowMismatch: false) { log?($0) }
        try QuantizedModel.apply(qp, to: model)
        return try sets.map { name in
            let set = try BenchmarkSet.load(dir: shared + "/data/" + name, scale: qp.scale)
            let r = try SREvaluation.run(set: set, scale: qp.scale, limit: limit, upscale: { try model.forward($0) }, progress: log)
            return (name, r.meanPSNRY, r.meanSSIMY)
        }
    }

    /// MATLAB-bicubic upscaling of the LR input (the paper's "Bicubic" row).
    static func bicubicCells(sets: [BenchmarkSet], scale: Int, limit: Int?) throws -> [Cell] {
        try sets.map { set in
            let r = try SREvaluation.run(set: set, scale: scale, limit: limit) { lr in
                let h = lr.shape[2], w = lr.shape[3]
                var out = [Float]()
                var oh = 0, ow = 0
                for c in 0..<3 {
                    let plane = Array(lr.data[(c * h * w)..<((c + 1) * h * w)])
                    let up = try MatlabBicubic.resize(plane: plane, width: w, height: h, scale: Double(scale))
                    out += up.plane; oh = up.height; ow = up.width
                }
                return Tensor(shape: [1, 3, oh, ow], data: out)
            }
            return Cell(table: "1", row: "Bicubic", bits: "32", set: set.name, scale: scale, psnr: r.meanPSNRY, ssim: r.meanSSIMY, calibrationSeconds: 0)
        }
    }

    /// Markdown with one section per table; columns = set × scale.
    public static func markdown(_ cells: [Cell], spec: Spec, command: String) -> String {
        // A preset with flags overriding part of it is reported as a custom run (what ran is listed below).
        let preset: Spec? = spec.label == Spec.quick.label ? .quick : spec.label == Spec.full.label ? .full : nil
        let kind = preset.map { $0 == spec ? spec.label : "custom" } ?? spec.label
        var s = "# HarmoQ tables on DAT-light (\(kind) run)\n\n"
        s += "Generated by `\(command)`. Run: scales \(spec.scales.map { "×\($0)" }.joined(separator: ", ")), sets \(spec.sets.joined(separator: ", ")), "
        s += "\(spec.patches) calibration patches (64×64 LR from DIV2K-calib + T91, seed \(spec.seed); the paper used 1000 DIV2K images), "
        if let r = spec.rotation { s += "online \(r.rawValue) rotations at the inputs of every qkv, fc1 and fc2 (`--rotate \(r.rawValue)`), " }
        if let r = spec.refineMethods, !r.isEmpty {
            s += "rows \"+ block refinement\" = the same plan after block reconstruction with `harmoq refine`'s defaults on the same patches (\(BlockReconstructionOptions().iterations) Adam iterations per block × batch \(BlockReconstructionOptions().batch), bounds and weights within ±1 step; `harmoq calibrate --method harmoq` runs it by default; Calib. s includes it), "
        }
        s += "\(spec.iterations) ABR iterations per linear site (paper: 3000). All sites (72 linear + 108 attention operands) quantized; "
        s += "inputs from the quantized prefix. PSNR/SSIM on Y, border = scale. `harmoq` = corrected variant (exact SRC minimiser, per-channel HSO, ABR on the deployment loss keeping the best bounds, affine per-tensor activation grid), `harmoq-literal` = formulas as printed (symmetric activation grid). Calib. peak MiB = process peak RSS during that calibration (model and evaluation buffers included). "
        s += "These are our measurements on DAT-light; the paper's tables are on SwinIR-light and HAT-S and are not reproduced here.\n"
        let cols = Array(Set(cells.map { "\($0.set) ×\($0.scale)" })).sorted()
        let titles = ["1": "Table 1 — methods × bit widths", "2": "Table 2 — SRC/HSO/ABR ablation (corrected variant)",
                      "3": "Table 3 — projection H (corrected variant, W\(spec.ablationBits)A\(spec.ablationBits))",
                      "O1": "O1 — weight-only vs activation-only quantization (MinMax)"]
        for t in ["1", "2", "3", "O1"] where spec.tables.contains(t) {
            var rows = cells.filter { $0.table == t }
            if t == "O1" { rows = cells.filter { $0.table == "O1" || ($0.table == "1" && $0.row.hasPrefix("FP")) } }
            guard !rows.isEmpty else { continue }
            s += "\n## \(titles[t]!)\n\n| Method | Bits | " + cols.map { "\($0) PSNR/SSIM" }.joined(separator: " | ") + " | Calib. s | Calib. peak MiB |\n"
            s += "|---|---|" + cols.map { _ in "---|" }.joined() + "---|---|\n"
            var seen: [String] = []
            for c in rows where !seen.contains(c.row + "|" + c.bits) { seen.append(c.row + "|" + c.bits) }
            for key in seen {
                let parts = key.split(separator: "|", maxSplits: 1).map(String.init)
                let r = rows.filter { $0.row == parts[0] && $0.bits == parts[1] }
                let vals = cols.map { col -> String in
                    guard let c = r.first(where: { "\($0.set) ×\($0.scale)" == col }) else { return "—" }
                    return String(format: "%.2f/%.4f", c.psnr, c.ssim)
                }
                let peak = r.compactMap(\.calibrationPeakMiB).max().map { String(format: "%.0f", $0) } ?? "—"
                s += "| \(parts[0]) | \(parts[1]) | " + vals.joined(separator: " | ") + String(format: " | %.0f | ", r.map(\.calibrationSeconds).max() ?? 0) + peak + " |\n"
            }
        }
        return s
    }
}

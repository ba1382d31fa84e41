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
        /// `--refine-modes`: the refinement rows each `refineMethods` entry gets, from "block", "model", "block+model"
        /// (`RefinementStages.defaults(mode:)`; nil = ["block"], as before the option existed).
        public var refineModes: [String]? = nil
        /// `--table2-refine`: every Table-2 ablation row also gets its block-refined value (a "+ block refinement" column).
        public var table2Refine: Bool? = nil
        /// `--dqc-iterations`: DQC iterations of the `2dquant` rows (nil = `DQCTrainer.Options`' default).
        public var dqcIterations: Int? = nil
        /// `--rotated-methods`: Table-1 methods that also get a row "<method> + <kind> rotation", the method calibrated with
        /// online rotations of `rotatedKind` at every qkv, fc1 and fc2 input (`harmoq calibrate --rotate`), and its refined
        /// rows when the method is in `refineMethods` (nil = none; absent from older JSON).
        public var rotatedMethods: [String]? = nil
        /// `--rotated-kind`: the rotation of those rows (nil = hadamard).
        public var rotatedKind: RotationKind? = nil

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

        public init(table: String, row: String, bits: String, set: String, scale: Int, psnr: Double, ssim: Double,
                    calibrationSeconds: Double, calibrationPeakMiB: Double? = nil) {
            self.table = table; self.row = row; self.bits = bits; self.set = set; self.scale = scale
            self.psnr = psnr; self.ssim = ssim; self.calibrationSeconds = calibrationSeconds; self.calibrationPeakMiB = calibrationPeakMiB
        }
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
        /// True when each cell's peak memory was measured after returning freed heap (`ProcessMemory.trimAndResetPeak`,
        /// since 2026-12-03); nil in older files, whose peaks include heap kept from earlier cells. Not a setting: a run
        /// resumed or reused across it is the same run.
        public var peakAfterTrim: Bool? = nil
        public init(command: String, spec: Spec, cells: [Cell], peakAfterTrim: Bool? = nil) {
            self.command = command; self.spec = spec; self.cells = cells; self.peakAfterTrim = peakAfterTrim
        }
    }

    /// The row of `method`'s plan after the refinement `mode` ("block", "model", "block+model").
    public static func refinedRow(_ method: String, mode: String) -> String { "\(method) + \(mode) refinement" }

    /// The row of `method` calibrated with online rotations of `kind`.
    public static func rotatedRow(_ method: String, kind: RotationKind) -> String { "\(method) + \(kind.rawValue) rotation" }

    /// The settings a cell's value depends on besides its row, bits, scale and set: a cell of another run with these
    /// settings equal can be reused (`harmoq tables --reuse`). The differing ones, named (empty = compatible).
    public static func differences(_ a: Spec, _ b: Spec) -> [String] {
        var d: [String] = []
        if a.patches != b.patches { d.append("patches \(a.patches) vs \(b.patches)") }
        if a.iterations != b.iterations { d.append("iterations \(a.iterations) vs \(b.iterations)") }
        if a.refinementRows != b.refinementRows { d.append("refinement rows \(a.refinementRows) vs \(b.refinementRows)") }
        if a.seed != b.seed { d.append("seed \(a.seed) vs \(b.seed)") }
        if a.imageLimit != b.imageLimit { d.append("image limit \(a.imageLimit.map(String.init) ?? "none") vs \(b.imageLimit.map(String.init) ?? "none")") }
        if a.rotation != b.rotation { d.append("--rotate \(a.rotation?.rawValue ?? "none") vs \(b.rotation?.rawValue ?? "none")") }
        if a.dqcIterations != b.dqcIterations { d.append("DQC iterations \(a.dqcIterations.map(String.init) ?? "default") vs \(b.dqcIterations.map(String.init) ?? "default")") }
        if a.ablationBits != b.ablationBits { d.append("ablation bits \(a.ablationBits) vs \(b.ablationBits)") }
        return d
    }

    /// The refinement modes of the run's refined rows (`refineModes`, default block).
    static func modes(_ spec: Spec) -> [String] { spec.refineModes ?? ["block"] }

    /// Runs every requested table; `log` gets one progress line per cell. `done`: cells of an interrupted run of the same
    /// spec (`--resume`): a cell found there for every set is reused, not recomputed, and a calibration whose rows are all
    /// there is skipped. `onCell` gets every cell list after each new cell (the caller checkpoints it).
    public static func run(spec: Spec, shared: String, done: [Cell] = [], onCell: (([Cell]) throws -> Void)? = nil,
                           log: ((String) -> Void)? = nil) throws -> [Cell] {
        var cells: [Cell] = []
        let start = Date()
        for scale in spec.scales {
            let modelPath = shared + "/models/dat-light-x\(scale).safetensors"
            let weights = try ModelLoader.readStateDict(path: modelPath)
            let fingerprint = ModelFingerprint.of(weights)
            let sources = [shared + "/data/DIV2K-calib", shared + "/data/train/T91"]
            let patches = try CalibrationPatches.draw(count: spec.patches, scale: scale, seed: spec.seed, sources: sources)
            let sets = try spec.sets.map { try BenchmarkSet.load(dir: shared + "/data/" + $0, scale: scale) }
            let model = try ModelLoader.build(weights: weights, source: modelPath)
            /// 2DQuant's plans quantize q, k and v separately: they run on a model built with split qkv sites.
            var splitModel: (any SRModel)?
            func previous(_ table: String, _ row: String, _ bits: String) -> [Cell]? {
                let found = sets.compactMap { set in
                    done.first { $0.table == table && $0.row == row && $0.bits == bits && $0.scale == scale && $0.set == set.name }
                }
                return found.count == sets.count ? found : nil
            }
            /// `--resume`: when every row of `rows` is kept from the interrupted run, appends them (in order) and returns true.
            func keptAll(_ table: String, _ rows: [String], _ bits: String) throws -> Bool {
                guard rows.allSatisfy({ previous(table, $0, bits) != nil }) else { return false }
                for row in rows { try evaluate(table, row, bits, nil, 0) }
                return true
            }
            func evaluate(_ table: String, _ row: String, _ bits: String, _ qp: QParams?, _ seconds: Double, _ peak: Double? = nil) throws {
                if let old = previous(table, row, bits) {
                    cells += old
                    log?("table \(table) ×\(scale) \(row) \(bits): kept from an earlier run (--resume / --reuse)")
                    return
                }
                var net: any SRModel = model
                if let qp, qp.sites.contains(where: { $0.name.hasSuffix(".attn.qkv.q") }) {
                    if splitModel == nil { splitModel = try ModelLoader.build(weights: weights, source: modelPath, options: .init(splitQKV: true)) }
                    net = splitModel!
                }
                if let qp { try QuantizedModel.apply(qp, to: net) } else { QuantizedModel.remove(from: net) }
                for set in sets {
                    let r = try SREvaluation.run(set: set, scale: scale, limit: spec.imageLimit) { try net.forward($0) }
                    cells.append(Cell(table: table, row: row, bits: bits, set: set.name, scale: scale, psnr: r.meanPSNRY,
                                      ssim: r.meanSSIMY, calibrationSeconds: seconds, calibrationPeakMiB: peak))
                    log?(String(format: "table %@ ×%d %@ %@ %@: PSNR %.3f SSIM %.4f (calibration %.0f s; elapsed %.0f s)", table, scale,
                                row, bits, set.name, r.meanPSNRY, r.meanSSIMY, seconds, Date().timeIntervalSince(start)))
                }
                QuantizedModel.remove(from: net)
                try onCell?(cells)
            }
            /// The row `row`: `plan` (calibrated in `seconds` with `peak`) after the refinement `mode`, or its kept cells.
            func evaluateRefined(_ table: String, _ row: String, _ bits: String, _ plan: QParams, _ mode: String,
                                 _ seconds: Double, _ peak: Double?) throws {
                guard previous(table, row, bits) == nil else { return try evaluate(table, row, bits, nil, 0) }
                let t0 = Date()
                let r = try RefinementStages.defaults(mode: mode).refine(plan: plan, weights: weights, patches: patches.lr)
                try evaluate(table, row, bits, r, seconds + Date().timeIntervalSince(t0),
                             [peak, ProcessMemory.peakResidentMiB()].compactMap { $0 }.max())
            }
            func twoDQuant(_ bits: Int, rotation: RotationKind? = nil) throws -> (QParams, Double, Double?) {
                let peakIsPerCell = ProcessMemory.trimAndResetPeak() != nil
                var o = DQCTrainer.Options()
                o.bits = bits; o.seed = spec.seed
                o.rotation = rotation ?? spec.rotation
                if let it = spec.dqcIterations { o.iterations = it }
                let r = try DQCTrainer.run(modelPath: modelPath, weights: weights, sources: sources, options: o, toolVersion: "tables") { log?($0) }
                return (r.qparams, r.seconds, peakIsPerCell ? ProcessMemory.peakResidentMiB() : nil)
            }
            func calibrate(_ m: CalibrationMethod, _ wb: Int, _ ab: Int, rotation: RotationKind? = nil) throws -> (QParams, Double, Double?) {
                let t0 = Date()
                let peakIsPerCell = ProcessMemory.trimAndResetPeak() != nil
                var o = ModelCalibrationOptions(method: m, weightBits: wb, activationBits: ab)
                o.seed = spec.seed
                o.rotation = rotation ?? spec.rotation
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
                    let bits = "W\(b)A\(b)"
                    for name in spec.table1Methods {
                        let kinds: [RotationKind?] = [nil] + (spec.rotatedMethods?.contains(name) == true ? [spec.rotatedKind ?? .hadamard] : [])
                        for kind in kinds {
                            let row = kind.map { rotatedRow(name, kind: $0) } ?? name
                            let refinedRows = spec.refineMethods?.contains(name) == true ? modes(spec).map { refinedRow(row, mode: $0) } : []
                            if try keptAll("1", [row] + refinedRows, bits) { continue }
                            let (qp, s, peak) = try MethodRegistry.named(name).kind == .outputLevel
                                ? twoDQuant(b, rotation: kind) : calibrate(try method(name, spec: spec), b, b, rotation: kind)
                            try evaluate("1", row, bits, qp, s, peak)
                            for (mode, r) in zip(modes(spec), refinedRows) { try evaluateRefined("1", r, bits, qp, mode, s, peak) }
                        }
                    }
                }
            }
            let ab = spec.ablationBits
            if spec.tables.contains("2") {
                for src in [false, true] { for hso in [false, true] { for abr in [false, true] {
                    let row = [src ? "SRC" : nil, hso ? "HSO" : nil, abr ? "ABR" : nil].compactMap { $0 }.joined(separator: "+")
                    let name = row.isEmpty ? "none (MinMax)" : row, bits = "W\(ab)A\(ab)"
                    let rows = [name] + (spec.table2Refine == true ? [refinedRow(name, mode: "block")] : [])
                    if try keptAll("2", rows, bits) { continue }
                    let m: CalibrationMethod = (src || hso || abr) ? try method("harmoq", spec: spec, ablate: (src, hso, abr)) : .minMax
                    let (qp, s, peak) = try calibrate(m, ab, ab)
                    try evaluate("2", name, bits, qp, s, peak)
                    for row in rows.dropFirst() { try evaluateRefined("2", row, bits, qp, "block", s, peak) }
                } } }
            }
            if spec.tables.contains("3") {
                let bits = "W\(ab)A\(ab)"
                if try !keptAll("3", ["w/o SRC"], bits) {
                    let (qp0, s0, peak0) = try calibrate(try method("harmoq", spec: spec, ablate: (false, true, true)), ab, ab)
                    try evaluate("3", "w/o SRC", bits, qp0, s0, peak0)
                }
                for p in [ProjectionKind.identity, .laplacian, .sobel, .dctHighPass, .learned, .random] {
                    let axis = (p == .learned || p == .random) ? "channels" : (p == .identity ? "—" : "tokens")
                    let row = "\(p.rawValue) (\(axis))"
                    if try keptAll("3", [row], bits) { continue }
                    var m = try method("harmoq", spec: spec, projection: p)
                    if case .harmoq(var c) = m, p == .learned || p == .random { c.projectionAxis = .channels; m = .harmoq(c) }
                    let (qp, s, peak) = try calibrate(m, ab, ab)
                    try evaluate("3", row, bits, qp, s, peak)
                }
            }
            if spec.tables.contains("O1") {
                for b in spec.o1Bits {
                    for (row, wb, xb) in [("weight-only (MinMax)", b, 32), ("activation-only (MinMax)", 32, b)] {
                        let bits = "W\(wb)A\(xb)"
                        if try keptAll("O1", [row], bits) { continue }
                        let (q, s, p) = try calibrate(.minMax, wb, xb)
                        try evaluate("O1", row, bits, q, s, p)
                    }
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

    /// Markdown with one section per table; columns = set × scale. `peakAfterTrim`: how the peak column was measured
    /// (`Document.peakAfterTrim`; this binary's runs: true).
    public static func markdown(_ cells: [Cell], spec: Spec, command: String, peakAfterTrim: Bool = true) -> String {
        // A preset with flags overriding part of it is reported as a custom run (what ran is listed below).
        let preset: Spec? = spec.label == Spec.quick.label ? .quick : spec.label == Spec.full.label ? .full : nil
        let kind = preset.map { $0 == spec ? spec.label : "custom" } ?? spec.label
        var s = "# HarmoQ tables on DAT-light (\(kind) run)\n\n"
        s += "Generated by `\(command)`. Run: scales \(spec.scales.map { "×\($0)" }.joined(separator: ", ")), sets \(spec.sets.joined(separator: ", ")), "
        s += "\(spec.patches) calibration patches (64×64 LR from DIV2K-calib + T91, seed \(spec.seed); the paper used 1000 DIV2K images), "
        if let r = spec.rotation { s += "online \(r.rawValue) rotations at the inputs of every qkv, fc1 and fc2 (`--rotate \(r.rawValue)`), " }
        if let m = spec.rotatedMethods, !m.isEmpty {
            let k = (spec.rotatedKind ?? .hadamard).rawValue
            s += "rows \"+ \(k) rotation\" = the same method calibrated with online \(k) rotations at the inputs of every qkv, fc1 and fc2 (`harmoq calibrate --rotate \(k)`, docs/rotations.md; refined rows refine that plan, the rotations fixed), "
        }
        let refining = !(spec.refineMethods ?? []).isEmpty
        if (refining && modes(spec).contains(where: { $0.hasPrefix("block") })) || spec.table2Refine == true {
            s += "rows \"+ block refinement\" = the same plan after block reconstruction with `harmoq refine`'s defaults on the same patches (\(BlockReconstructionOptions().iterations) Adam iterations per block × batch \(BlockReconstructionOptions().batch), bounds and weights within ±1 step; `harmoq calibrate --method harmoq` runs it by default; Calib. s includes it), "
        }
        if refining && modes(spec).contains(where: { $0.hasSuffix("model") }) {
            let m = ModelDistillationOptions()
            s += "rows \"+ model refinement\" = the same plan after whole-model distillation with `harmoq refine --mode model`'s defaults (\(m.iterations) Adam iterations × batch \(m.batch) on the same patches, every clipping bound, output MSE to FP; \"+ block+model refinement\": block, then model), "
        }
        if spec.table1Methods.contains("2dquant") {
            let o = DQCTrainer.Options()
            s += "`2dquant` = the official 2DQuant (DOBI on \(o.dobiPatches) patches, then DQC: \(spec.dqcIterations ?? o.iterations) Adam iterations × batch \(o.batch), lr \(o.lr), pixel + \(o.featureWeight)·feature loss; official budget 4000 × 16; docs/2dquant.md), "
        }
        s += "\(spec.iterations) ABR iterations per linear site (paper: 3000). All sites (72 linear + 108 attention operands) quantized; "
        s += "inputs from the quantized prefix. PSNR/SSIM on Y, border = scale. `harmoq` = corrected variant (exact SRC minimiser, per-channel HSO, ABR on the deployment loss keeping the best bounds, affine per-tensor activation grid), `harmoq-literal` = formulas as printed (symmetric activation grid). " + (peakAfterTrim
            ? "Calib. peak MiB = process peak RSS during that calibration, freed heap returned to the system at its start (`malloc_trim`; the model, the sets and the run's buffers included). "
            : "Calib. peak MiB = process peak RSS during that calibration (model and evaluation buffers included). ")
        s += "These are our measurements on DAT-light; the paper's tables are on SwinIR-light and HAT-S and are not reproduced here.\n"
        let cols = Array(Set(cells.map { "\($0.set) ×\($0.scale)" })).sorted()
        let titles = ["1": "Table 1 — methods × bit widths", "2": "Table 2 — SRC/HSO/ABR ablation (corrected variant)",
                      "3": "Table 3 — projection H (corrected variant, W\(spec.ablationBits)A\(spec.ablationBits))",
                      "O1": "O1 — weight-only vs activation-only quantization (MinMax)"]
        for t in ["1", "2", "3", "O1"] where spec.tables.contains(t) {
            var rows = cells.filter { $0.table == t }
            if t == "O1" { rows = cells.filter { $0.table == "O1" || ($0.table == "1" && $0.row.hasPrefix("FP")) } }
            guard !rows.isEmpty else { continue }
            if t == "2", spec.table2Refine == true {
                s += table2WithRefinement(rows, cols: cols, title: titles[t]!)
                continue
            }
            s += "\n## \(titles[t]!)\n\n| Method | Bits | " + cols.map { "\($0) PSNR/SSIM" }.joined(separator: " | ") + " | Calib. s | Calib. peak MiB |\n"
            s += "|---|---|" + cols.map { _ in "---|" }.joined() + "---|---|\n"
            for parts in rowKeys(rows) {
                let r = rows.filter { $0.row == parts[0] && $0.bits == parts[1] }
                let vals = cols.map { psnrText(r, column: $0) }
                let peak = r.compactMap(\.calibrationPeakMiB).max().map { String(format: "%.0f", $0) } ?? "—"
                s += "| \(parts[0]) | \(parts[1]) | " + vals.joined(separator: " | ") + String(format: " | %.0f | ", r.map(\.calibrationSeconds).max() ?? 0) + peak + " |\n"
            }
        }
        return s
    }

    /// Table 2 with a refinement column: per set, the ablation row's PSNR/SSIM and its "+ block refinement" value.
    static func table2WithRefinement(_ rows: [Cell], cols: [String], title: String) -> String {
        let suffix = " + block refinement"
        var s = "\n## \(title)\n\n| Method | Bits | " + cols.map { "\($0) PSNR/SSIM | \($0) + block refinement" }.joined(separator: " | ")
            + " | Calib. s | Calib. s with refinement | Calib. peak MiB |\n"
        s += "|---|---|" + cols.map { _ in "---|---|" }.joined() + "---|---|---|\n"
        for parts in rowKeys(rows.filter { !$0.row.hasSuffix(suffix) }) {
            let plain = rows.filter { $0.row == parts[0] && $0.bits == parts[1] }
            let ref = rows.filter { $0.row == parts[0] + suffix && $0.bits == parts[1] }
            let vals = cols.map { psnrText(plain, column: $0) + " | " + psnrText(ref, column: $0) }
            let secs = { (r: [Cell]) in r.isEmpty ? "—" : String(format: "%.0f", r.map(\.calibrationSeconds).max() ?? 0) }
            let peak = (plain + ref).compactMap(\.calibrationPeakMiB).max().map { String(format: "%.0f", $0) } ?? "—"
            s += "| \(parts[0]) | \(parts[1]) | " + vals.joined(separator: " | ") + " | \(secs(plain)) | \(secs(ref)) | \(peak) |\n"
        }
        return s
    }

    /// The distinct (row, bits) pairs of `cells` in first-seen order.
    static func rowKeys(_ cells: [Cell]) -> [[String]] {
        var seen: [String] = []
        for c in cells where !seen.contains(c.row + "|" + c.bits) { seen.append(c.row + "|" + c.bits) }
        return seen.map { $0.split(separator: "|", maxSplits: 1).map(String.init) }
    }

    /// "PSNR/SSIM" of the cell of `cells` in `column` ("<set> ×<scale>"), or "—".
    static func psnrText(_ cells: [Cell], column: String) -> String {
        guard let c = cells.first(where: { "\($0.set) ×\($0.scale)" == column }) else { return "—" }
        return String(format: "%.2f/%.4f", c.psnr, c.ssim)
    }
}

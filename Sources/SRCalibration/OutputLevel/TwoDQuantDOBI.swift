import HarmoQ
import SREngine
import SRIO

/// 2DQuant stage 1 (DOBI) as the official code runs it, on every quantizer of `TwoDQuantLayout`
/// (`quant_arch.py` `DOBI`, `2dquant_model.py` `calibration`):
///
/// * one FP forward of the calibration batch — every quantizer sees the **FP** activation (the official quantizers
///   return their input unchanged while calibrating), over the **whole batch** at once (no subsampling, unlike the
///   per-layer `dobi` method of `harmoq calibrate`);
/// * weights: the whole (q/k/v-split) weight tensor, per tensor;
/// * 100 two-sided candidates δ = (max − min)/200, lb = min + δ·i, ub = max − δ·i in Float32 exactly as torch forms
///   them; error ‖x − Q(x)‖ (the engine's `Observer.quantError`, summed in Float64); the first strict minimum.
///
/// The only intended difference from the official code is the error's arithmetic: torch takes `torch.norm` in
/// Float32 (its own reduction order), this sums squares in Float64. Candidates whose errors differ by less than
/// that rounding (relative gaps ≈ 1e-6 occur) may be ordered differently; TwoDQuantTests measures how often.
public enum TwoDQuantDOBI {
    /// One quantizer's search.
    public struct Search: Sendable {
        public let index: Int
        public let lower: Float
        public let upper: Float
        /// ‖x − Q(x)‖ of every candidate (Float64 sum of squares, then √).
        public let errors: [Double]
        public let min: Float
        public let max: Float
        public let count: Int
    }

    /// DOBI on one tensor (two-sided, `candidates` candidates, affine, half-to-even).
    public static func search(_ x: [Float], bits: Int, candidates: Int = 100) throws -> Search {
        guard candidates >= 1 else { throw QuantError("DOBI needs ≥ 1 candidate, got \(candidates)") }
        let (mn, mx) = try Observer.minMax(x)
        let delta = (mx - mn) / Float(2 * candidates)
        var errors = [Double](repeating: .infinity, count: candidates)
        errors.withUnsafeMutableBufferPointer { e in
            let ep = e.baseAddress!
            Parallel.forEach(candidates) { i in
                let lb = mn + delta * Float(i), ub = mx - delta * Float(i)
                ep[i] = quantError(x, lower: lb, upper: ub, bits: bits).squareRoot()
            }
        }
        var best = 0
        for i in 1..<candidates where errors[i] < errors[best] { best = i }
        return Search(index: best, lower: mn + delta * Float(best), upper: mx - delta * Float(best), errors: errors,
                      min: mn, max: mx, count: x.count)
    }

    /// ‖x − Q(x)‖² exactly as `Observer.quantError` (same per-element values — `QuantKernel.fakeQuant` is bit-identical
    /// to `Quantizer.fakeQuant` — summed in Float64 in the same order), without the per-element dispatch.
    static func quantError(_ x: [Float], lower: Float, upper: Float, bits: Int) -> Double {
        guard let q = try? Quantizer(bits: bits, lower: lower, upper: upper, scheme: .affine) else { return .infinity }
        let k = QuantKernel(q)
        var e = 0.0
        x.withUnsafeBufferPointer { xp in
            for v in xp { let d = Double(k.fakeQuant(v) - v); e += d * d }
        }
        return e
    }

    /// Captures selected sites' inputs over several forwards (concatenated in input order); a site with a rotation is
    /// captured rotated (x·R, what its quantizer sees), the forward itself unchanged.
    final class Capture: ActivationHook {
        let wanted: Set<Int>
        let rotations: [Int: OnlineRotation]
        var values: [Int: [Float]] = [:]
        init(_ wanted: Set<Int>, rotations: [Int: OnlineRotation] = [:]) { self.wanted = wanted; self.rotations = rotations }
        func process(site: Site, index: Int, values v: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int) {
            guard wanted.contains(index) else { return }
            if let r = rotations[index] {
                values[index, default: []].append(contentsOf: r.rotated(UnsafeBufferPointer(v), rows: v.count / r.order))
            } else {
                values[index, default: []].append(contentsOf: v)
            }
        }
    }

    /// Counts each site's values in one forward.
    final class Count: ActivationHook {
        var counts: [Int: Int] = [:]
        func process(site: Site, index: Int, values v: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int) {
            counts[index, default: 0] += v.count
        }
    }

    /// DOBI bounds of every 2DQuant quantizer of `model` (built with splitQKV) on the calibration batch `inputs`.
    /// Activations are captured a group of sites at a time so that at most about `maxCapturedValues` floats are held
    /// (each group costs one FP forward of the batch). The three qkv activation quantizers of a block see the same
    /// tensor (as in the official code); it is searched once and the result shared. `rotations` (site name → R; the
    /// split q/k/v of a block share one, `TwoDQuantRotations`): those sites' weights are searched as W·R and their
    /// inputs as x·R, on the unrotated model's FP forward.
    public static func calibrate(model: any SRModel, inputs: [Tensor], bits: Int, candidates: Int = 100,
                                 maxCapturedValues: Int = 1 << 26, rotations: [String: Rotation] = [:],
                                 progress: ((String) -> Void)? = nil) throws -> [String: Search] {
        guard !inputs.isEmpty else { throw QuantError("DOBI: no calibration inputs") }
        let savedHook = model.hook, savedExecutor = model.linearExecutor, savedOperands = model.operandExecutor
        defer { model.hook = savedHook; model.linearExecutor = savedExecutor; model.operandExecutor = savedOperands }
        model.linearExecutor = nil
        model.operandExecutor = nil
        model.restoreOriginalWeights()
        let quantizers = try TwoDQuantLayout.quantizers(of: model)
        var out: [String: Search] = [:]
        // Weights.
        for q in quantizers where q.role == .weight {
            let site = try model.site(named: q.site)
            var w = try model.linearWeight(site).weight.data
            if let r = rotations[q.site], case let .linear(_, outF) = site.kind { w = r.rotateWeight(w, outputs: outF) }
            out[q.name] = try search(w, bits: bits, candidates: candidates)
        }
        progress?("DOBI: \(out.count) weight quantizers done")
        // Activations: which site indices to capture (qkv.k / qkv.v inputs are qkv.q's).
        let indexOf = Dictionary(uniqueKeysWithValues: model.sites.enumerated().map { ($1.name, $0) })
        var online: [Int: OnlineRotation] = [:]
        for (name, r) in rotations {
            guard let i = indexOf[name] else { throw QuantError("DOBI: rotation for unknown site '\(name)'") }
            online[i] = OnlineRotation(r)
        }
        func shared(_ site: String) -> String? {
            for t in [".attn.qkv.k", ".attn.qkv.v"] where site.hasSuffix(t) { return String(site.dropLast(1)) + "q" }
            return nil
        }
        let acts = quantizers.filter { $0.role == .activation }
        let own = acts.filter { shared($0.site) == nil }
        let counter = Count()
        model.hook = counter
        _ = try model.forward(inputs[0])
        var groups: [[TwoDQuantQuantizer]] = [[]]
        var held = 0
        for q in own {
            let n = (counter.counts[indexOf[q.site]!] ?? 0) * inputs.count
            if held + n > maxCapturedValues && !groups[groups.count - 1].isEmpty { groups.append([]); held = 0 }
            groups[groups.count - 1].append(q)
            held += n
        }
        for (g, group) in groups.enumerated() {
            let cap = Capture(Set(group.map { indexOf[$0.site]! }), rotations: online)
            model.hook = cap
            for x in inputs { _ = try model.forward(x) }
            model.hook = nil
            for q in group {
                guard let v = cap.values.removeValue(forKey: indexOf[q.site]!) else {
                    throw QuantError("DOBI: site '\(q.site)' produced no activations")
                }
                out[q.name] = try search(v, bits: bits, candidates: candidates)
            }
            progress?("DOBI: activation group \(g + 1)/\(groups.count) (\(group.count) quantizers)")
        }
        for q in acts { if let s = shared(q.site) { out[q.name] = out[s + ".act_quantizer"] } }
        return out
    }
}

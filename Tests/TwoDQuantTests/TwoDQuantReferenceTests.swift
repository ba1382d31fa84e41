import _TestSupport
import Foundation
import HarmoQ
@testable import SRCalibration
import SREngine
import SRIO
import Testing

/// The official 2DQuant code's tensors (../shared/reference/2dquant-swinir-light-x2-stress_w{4,2}.safetensors,
/// described in ../shared/reference/2dquant-README.md) against this port on SwinIR-light ×2 (stress weights).
enum TwoDQuantRef {
    static let model = "models/swinir-light-x2-stress.safetensors"
    static func file(_ bits: Int) -> String { "reference/2dquant-swinir-light-x2-stress_w\(bits).safetensors" }
    static var available: Bool { SharedData.exists(model) && SharedData.exists(file(4)) && SharedData.exists(file(2)) }

    static func log(_ s: String) { FileHandle.standardError.write((s + "\n").data(using: .utf8)!) }

    /// [B, …] tensor → per-sample flat arrays.
    static func split(_ t: Tensor) -> [[Float]] {
        let b = t.shape[0], n = t.count / b
        return (0..<b).map { Array(t.data[($0 * n)..<(($0 + 1) * n)]) }
    }

    /// The reference batch as engine inputs [1, 3, 32, 32].
    static func inputs(_ ref: SafeTensors.File) throws -> [Tensor] {
        let x = try ref.tensor("input")
        return split(x).map { Tensor(shape: [1] + Array(x.shape.dropFirst()), data: $0) }
    }

    static func loadModel() throws -> any SRModel {
        try ModelLoader.load(path: SharedData.path(model), options: .init(splitQKV: true))
    }

    static func scalar(_ ref: SafeTensors.File, _ key: String) throws -> Float { try ref.tensor(key).data[0] }

    /// The stored DOBI bounds by official name.
    static func bounds(_ ref: SafeTensors.File, _ qs: [TwoDQuantQuantizer]) throws -> [String: (lower: Float, upper: Float)] {
        var b: [String: (lower: Float, upper: Float)] = [:]
        for q in qs { b[q.name] = (try scalar(ref, q.name + ".lower_bound"), try scalar(ref, q.name + ".upper_bound")) }
        return b
    }
}

@Suite(.serialized, .enabled(if: TwoDQuantRef.available, "../shared 2DQuant reference or stress model not present"))
struct TwoDQuantReferenceTests {
    /// The placement: 384 quantizers, every one of them a quantizer of the official file, and nothing else there.
    @Test func placementMatchesOfficialNames() throws {
        let ref = try SafeTensors.read(path: SharedData.path(TwoDQuantRef.file(4)))
        let qs = try TwoDQuantLayout.quantizers(of: try TwoDQuantRef.loadModel())
        #expect(qs.count == 384)
        let official = Set(ref.entries.keys.filter { $0.hasSuffix(".lower_bound") }.map { String($0.dropLast(".lower_bound".count)) })
        #expect(official.count == 384)
        #expect(Set(qs.map(\.name)) == official)
    }

    /// DOBI of all 384 quantizers from our own FP activations vs `<name>.lower_bound/upper_bound/dobi_index/dobi_mse`.
    /// * same index: weights bit-identical bounds (same data, same Float32 candidate arithmetic); activations within
    ///   2e-5·(max − min) (our FP activations differ from torch's at the 1e-6 level, which moves min and max);
    /// * different index: allowed only as a near-tie — the official error of our choice within 1e-5 (relative) of the
    ///   official minimum (2dquant-README: runner-up gaps down to 4e-6 occur);
    /// * each error curve vs `dobi_mse`: weights within 1e-5 relative (Float64 vs torch's Float32 norm).
    @Test(arguments: [4, 2]) func dobiBounds(bits: Int) throws {
        let ref = try SafeTensors.read(path: SharedData.path(TwoDQuantRef.file(bits)))
        let model = try TwoDQuantRef.loadModel()
        let t0 = Date()
        let got = try TwoDQuantDOBI.calibrate(model: model, inputs: try TwoDQuantRef.inputs(ref), bits: bits)
        let secs = Date().timeIntervalSince(t0)
        let qs = try TwoDQuantLayout.quantizers(of: model)
        var sameIndex = 0, nearTie: [String] = [], worstBound = 0.0, worstWeightCurve = 0.0, worstActCurve = 0.0
        for q in qs {
            guard let s = got[q.name] else { Issue.record("no DOBI result for \(q.name)"); continue }
            let idx = Int(try TwoDQuantRef.scalar(ref, q.name + ".dobi_index"))
            let lb = try TwoDQuantRef.scalar(ref, q.name + ".lower_bound"), ub = try TwoDQuantRef.scalar(ref, q.name + ".upper_bound")
            let mse = try ref.tensor(q.name + ".dobi_mse").data.map(Double.init)
            let curve = zip(s.errors, mse).map { abs($0 - $1) / Swift.max($1, 1e-30) }.max() ?? 0
            if q.role == .weight { worstWeightCurve = Swift.max(worstWeightCurve, curve) } else { worstActCurve = Swift.max(worstActCurve, curve) }
            if s.index == idx {
                sameIndex += 1
                let range = Double(s.max - s.min)
                let d = Swift.max(abs(Double(s.lower - lb)), abs(Double(s.upper - ub))) / range
                worstBound = Swift.max(worstBound, q.role == .activation ? d : 0)
                if q.role == .weight {
                    #expect(s.lower == lb && s.upper == ub, "\(q.name): weight bounds [\(s.lower), \(s.upper)] vs [\(lb), \(ub)]")
                } else {
                    #expect(d <= 2e-5, "\(q.name): bounds [\(s.lower), \(s.upper)] vs [\(lb), \(ub)], scaled \(d)")
                }
            } else {
                let best = mse.min()!
                let gap = (mse[s.index] - best) / best
                nearTie.append("\(q.name) ours \(s.index) official \(idx) gap \(String(format: "%.1e", gap))")
                #expect(gap <= 1e-5, "\(q.name): DOBI index \(s.index) vs official \(idx), official error gap \(gap)")
            }
            if q.role == .weight { #expect(curve <= 1e-5, "\(q.name): error curve vs dobi_mse, max rel \(curve)") }
        }
        TwoDQuantRef.log("2dquant DOBI W\(bits)A\(bits): \(sameIndex)/\(qs.count) same index, \(nearTie.count) near-ties "
                         + "\(nearTie); worst scaled activation bound diff \(String(format: "%.2e", worstBound)); worst rel. error-curve "
                         + "diff weights \(String(format: "%.2e", worstWeightCurve)), activations \(String(format: "%.2e", worstActCurve)); \(String(format: "%.1f", secs)) s")
    }

    /// The engine's own `Observer.dobi` gives the same bounds as the search on real data (weights of the first block,
    /// whole tensors): the search is the engine's DOBI, with the index and curve exposed.
    @Test func searchIsTheEngineDOBI() throws {
        let model = try TwoDQuantRef.loadModel()
        for q in try TwoDQuantLayout.quantizers(of: model).filter({ $0.role == .weight }).prefix(6) {
            let w = try model.linearWeight(try model.site(named: q.site)).weight.data
            for bits in [2, 4] {
                let s = try TwoDQuantDOBI.search(w, bits: bits)
                let e = try Observer.dobi(w, bits: bits, scheme: .affine)
                #expect(s.lower == e.0 && s.upper == e.1, "\(q.name) W\(bits)")
                // The fast error sum equals the engine's Observer.quantError bit for bit on every candidate.
                let delta = (s.max - s.min) / 200
                for i in stride(from: 0, to: 100, by: 7) {
                    let lb = s.min + delta * Float(i), ub = s.max - delta * Float(i)
                    #expect(s.errors[i] == Observer.quantError(w, lower: lb, upper: ub, bits: bits, scheme: .affine).squareRoot())
                }
            }
        }
    }

    /// The DQC loss formula on the official tensors themselves (output_q, output_fp, feature_q/fp.{0..3}): every term
    /// within 1e-5 relative of `loss.*` (torch sums in Float32, this in Float64).
    @Test(arguments: [4, 2]) func lossTermsOnOfficialTensors(bits: Int) throws {
        let ref = try SafeTensors.read(path: SharedData.path(TwoDQuantRef.file(bits)))
        let r = DQCLoss().evaluate(outQ: TwoDQuantRef.split(try ref.tensor("output_q")),
                                   outF: TwoDQuantRef.split(try ref.tensor("output_fp")),
                                   featQ: try (0..<4).map { TwoDQuantRef.split(try ref.tensor("feature_q.\($0)")) },
                                   featF: try (0..<4).map { TwoDQuantRef.split(try ref.tensor("feature_fp.\($0)")) })
        func rel(_ a: Double, _ key: String) throws -> Double { let b = Double(try TwoDQuantRef.scalar(ref, key)); return abs(a - b) / abs(b) }
        let errs = [try rel(r.terms.pixel, "loss.l_pix"), try rel(r.terms.featureSum, "loss.l_feature"), try rel(r.terms.total, "loss.l_total")]
            + (try (0..<4).map { try rel(r.terms.features[$0], "loss.l_feature_\($0)") })
        TwoDQuantRef.log("2dquant loss W\(bits) on official tensors: l_total \(r.terms.total), worst rel diff \(errs.max()!)")
        for e in errs { #expect(e <= 1e-5) }
    }

    /// With the official DOBI bounds loaded: our FP output and features vs `output_fp` / `feature_fp.*`, our quantized
    /// output and features vs `output_q` / `feature_q.*`, and the loss terms vs `loss.*`.
    ///
    /// The quantized network is chaotic: moving the input by 1e-7 changes its W4 output by up to 0.1 (measured while
    /// writing this test), because one rounding decision flips and the flip propagates. Our Float32 GEMM order differs
    /// from torch's at that level, and it flips exactly one of the 49 M rounding decisions of the reference batch: W4,
    /// sample 1, input of `layers.2.residual_group.blocks.0.mlp.fc2`, element 121161, where our t = (c − lb)/s is
    /// 10.500001 (torch rounds to 10). `TieOverride` rounds that one element the other way (after checking that it is
    /// within 1e-5 of the tie); with it every tensor must agree to the FP conformance level. Thresholds (scaled by the
    /// tensor's max |value|): 2e-5 for outputs and features (FP and quantized), 1e-5 relative for the loss terms.
    @Test(arguments: [4, 2]) func quantizedForward(bits: Int) throws {
        let ref = try SafeTensors.read(path: SharedData.path(TwoDQuantRef.file(bits)))
        let model = try TwoDQuantRef.loadModel()
        let inputs = try TwoDQuantRef.inputs(ref)
        let stages = TwoDQuantLayout.featureStages(of: model)
        #expect(stages == ["layer0_block5", "layer1_block5", "layer2_block5", "layer3_block5"])
        let fp = try TwoDQuantLayout.forward(model: model, inputs: inputs, featureStages: stages)
        let qs = try TwoDQuantLayout.quantizers(of: model)
        let plan = try TwoDQuantLayout.qparams(bounds: try TwoDQuantRef.bounds(ref, qs), model: model, modelName: TwoDQuantRef.model,
                                               bits: bits, method: "2dquant-dobi (official bounds)", patchCount: 2,
                                               patchSources: [], notes: [])
        let inner = try QuantizedModel.apply(plan, to: model, codeDomain: false)
        let plain = try TwoDQuantLayout.forward(model: model, inputs: inputs, featureStages: stages)
        let tie = TieOverride(inner, plan: plan, bits == 4 ? [("layers.2.residual_group.blocks.0.mlp.fc2", 1, 121161)] : [])
        model.hook = tie
        var outs: [[Float]] = [], feats = [[[Float]]](repeating: [], count: 4)
        for (b, x) in inputs.enumerated() {
            tie.sample = b
            let r = try TwoDQuantLayout.forward(model: model, inputs: [x], featureStages: stages)
            outs.append(r.outputs[0]); for k in 0..<4 { feats[k].append(r.features[k][0]) }
        }
        QuantizedModel.remove(from: model)
        #expect(tie.applied == tie.overrides.count, "tie overrides applied \(tie.applied) of \(tie.overrides.count)")
        for t in tie.seenT { #expect(abs(t - t.rounded(.down) - 0.5) < 1e-5, "overridden element is not a near-tie: t = \(t)") }

        func compare(_ got: [[Float]], _ key: String) throws -> (maxScaled: Double, meanScaled: Double) {
            let want = TwoDQuantRef.split(try ref.tensor(key))
            var mx = 0.0, sum = 0.0, n = 0, scale = 0.0
            for b in want.indices { for i in want[b].indices {
                let d = abs(Double(got[b][i]) - Double(want[b][i]))
                mx = Swift.max(mx, d); sum += d; n += 1; scale = Swift.max(scale, abs(Double(want[b][i])))
            }}
            return (mx / scale, sum / Double(n) / scale)
        }
        var lines: [String] = []
        let fpOut = try compare(fp.outputs, "output_fp")
        #expect(fpOut.maxScaled <= 2e-5, "output_fp: scaled max \(fpOut.maxScaled)")
        let raw = try compare(plain.outputs, "output_q")
        let qOut = try compare(outs, "output_q")
        lines.append(String(format: "output_fp %.1e; output_q without the tie override max %.2e, with it %.2e", fpOut.maxScaled,
                            raw.maxScaled, qOut.maxScaled))
        #expect(qOut.maxScaled <= 2e-5, "output_q: scaled max \(qOut.maxScaled)")
        for k in 0..<4 {
            let f = try compare(fp.features[k], "feature_fp.\(k)")
            let g = try compare(feats[k], "feature_q.\(k)")
            lines.append(String(format: "feature %d fp %.1e q %.1e", k, f.maxScaled, g.maxScaled))
            #expect(f.maxScaled <= 2e-5, "feature_fp.\(k): \(f.maxScaled)")
            #expect(g.maxScaled <= 2e-5, "feature_q.\(k): \(g.maxScaled)")
        }
        let r = DQCLoss().evaluate(outQ: outs, outF: fp.outputs, featQ: feats, featF: fp.features)
        let keys = ["loss.l_pix"] + (0..<4).map { "loss.l_feature_\($0)" } + ["loss.l_total"]
        let vals = [r.terms.pixel] + r.terms.features + [r.terms.total]
        var worst = 0.0
        for (k, v) in zip(keys, vals) {
            let w = Double(try TwoDQuantRef.scalar(ref, k))
            worst = Swift.max(worst, abs(v - w) / abs(w))
            #expect(abs(v - w) <= 1e-5 * abs(w), "\(k): \(v) vs official \(w)")
        }
        lines.append(String(format: "l_total %.7e, worst loss-term rel diff %.1e", r.terms.total, worst))
        TwoDQuantRef.log("2dquant forward W\(bits): " + lines.joined(separator: "; "))
    }
}

/// Rounds listed (site, sample, element) inputs to the other grid neighbour, then applies the plan (test only).
final class TieOverride: ActivationHook {
    let inner: QuantizedModel
    let overrides: [(site: String, sample: Int, element: Int)]
    let quantizers: [String: Quantizer]
    var sample = 0
    var applied = 0
    var seenT: [Float] = []
    init(_ inner: QuantizedModel, plan: QParams, _ overrides: [(String, Int, Int)]) {
        self.inner = inner
        self.overrides = overrides.map { ($0.0, $0.1, $0.2) }
        var q: [String: Quantizer] = [:]
        for s in plan.sites { q[s.name] = try? s.activationQuantizer() }
        quantizers = q
    }
    func process(site: Site, index: Int, values: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int) {
        let mine = overrides.filter { $0.site == site.name && $0.sample == sample }
        let saved = mine.map { values[$0.element] }
        inner.process(site: site, index: index, values: values, rows: rows, cols: cols)
        guard let q = quantizers[site.name] else { return }
        for (o, v) in zip(mine, saved) {
            let t = (Swift.min(Swift.max(v, q.lower), q.upper) - q.lower) / q.step
            let r = t.rounded(.toNearestOrEven)
            values[o.element] = q.step * (r > t ? r - 1 : r + 1) + q.lower
            seenT.append(t)
            applied += 1
        }
    }
}

/// DQC loss gradient by finite differences (Float64, norms held fixed as the official `.detach()` does), B = 2,
/// 3 features of 12 values, outputs of 10 values; seed 5. Threshold 1e-6 relative to the largest gradient entry.
struct DQCLossGradientTests {
    @Test func finiteDifferences() throws {
        var rng = SplitMix64(seed: 5)
        func r() -> Float { Float(rng.next() >> 40) / Float(1 << 24) * 2 - 1 }
        let oq = (0..<2).map { _ in (0..<10).map { _ in r() } }, of = (0..<2).map { _ in (0..<10).map { _ in r() } }
        let fq = (0..<3).map { _ in (0..<2).map { _ in (0..<12).map { _ in r() } } }
        let ff = (0..<3).map { _ in (0..<2).map { _ in (0..<12).map { _ in r() } } }
        let loss = DQCLoss()
        let res = loss.evaluate(outQ: oq, outF: of, featQ: fq, featF: ff)
        // Pixel term: piecewise linear; a step of 1e-4 never crosses |d| = 0 here (|d| ≥ 1e-3 checked).
        for b in 0..<2 { for i in 0..<10 {
            #expect(abs(oq[b][i] - of[b][i]) > 1e-3)
            var p = oq, m = oq
            p[b][i] += 1e-4; m[b][i] -= 1e-4
            let fd = (loss.evaluate(outQ: p, outF: of, featQ: fq, featF: ff).terms.pixel
                      - loss.evaluate(outQ: m, outF: of, featQ: fq, featF: ff).terms.pixel) / Double(p[b][i] - m[b][i])
            #expect(abs(fd - res.gradOutput[b][i]) <= 1e-6 * abs(res.gradOutput[b][i]), "pixel grad [\(b)][\(i)]")
        }}
        // Feature terms with the norms fixed at the base point.
        for k in 0..<3 {
            let nq = fq[k].map(DQCLoss.norm), nf = ff[k].map(DQCLoss.norm)
            let gmax = res.gradFeatures[k].flatMap { $0 }.map(abs).max()!
            for b in 0..<2 { for i in 0..<12 {
                let h: Float = 1e-3
                var p = fq[k], m = fq[k]
                p[b][i] += h; m[b][i] -= h
                let fd = (loss.feature(p, ff[k], normsQ: nq, normsF: nf).0 - loss.feature(m, ff[k], normsQ: nq, normsF: nf).0)
                    / Double(p[b][i] - m[b][i])
                #expect(abs(fd - res.gradFeatures[k][b][i]) <= 1e-6 * gmax, "feature \(k) grad [\(b)][\(i)]: \(fd) vs \(res.gradFeatures[k][b][i])")
            }}
        }
    }
}

/// One Adam step from the official gradients reproduces `after_adam_lower/upper` of the 768 bounds: each within two
/// roundings of the step term (2 ulp(lr) = 1.9e-9; measured: W2 768/768 and W4 767/768 bit-identical, the other one
/// 4 ulps of a bound near −0.0033, i.e. one ulp of the step −lr·m̂/(√v̂ + ε)).
@Suite(.enabled(if: TwoDQuantRef.available, "../shared 2DQuant reference or stress model not present"))
struct BoundAdamTests {
    @Test(arguments: [4, 2]) func oneStepFromOfficialGradients(bits: Int) throws {
        let ref = try SafeTensors.read(path: SharedData.path(TwoDQuantRef.file(bits)))
        let names = ref.entries.keys.filter { $0.hasSuffix(".lower_bound") }.map { String($0.dropLast(".lower_bound".count)) }.sorted()
        var p: [Float] = [], g: [Float] = [], want: [Float] = []
        for n in names {
            p += [try TwoDQuantRef.scalar(ref, n + ".lower_bound"), try TwoDQuantRef.scalar(ref, n + ".upper_bound")]
            g += [try TwoDQuantRef.scalar(ref, n + ".grad_lower"), try TwoDQuantRef.scalar(ref, n + ".grad_upper")]
            want += [try TwoDQuantRef.scalar(ref, n + ".after_adam_lower"), try TwoDQuantRef.scalar(ref, n + ".after_adam_upper")]
        }
        var adam = BoundAdam(count: p.count)
        adam.update(&p, gradients: g)
        let mismatches = zip(p, want).filter { $0 != $1 }.count
        let small = g.filter { abs($0) < 1e-8 }.count
        TwoDQuantRef.log("Adam W\(bits): \(p.count - mismatches)/\(p.count) bounds bit-identical to after_adam (\(small) |g| < 1e-8)")
        let worst = zip(p, want).map { abs(Double($0) - Double($1)) }.max()!
        #expect(worst <= 2 * Double(Float(0.01).ulp), "worst |Δ| \(worst)")
        #expect(small > 0, "the reference should contain gradients below eps")
    }
}

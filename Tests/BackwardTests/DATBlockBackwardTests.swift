import _TestSupport
import Foundation
import SRIO
import Testing
@testable import SREngine

/// Block- and model-level checks on DAT-light ×2 weights (../shared), on small inputs.
/// Site plumbing: a smooth stand-in quantizer (x + c·x², c = 0.3 / min(1, max|x|), `SmoothSiteMap`) at ONE site at a
/// time; the block's dL/d input (and for weight sites dL/dW of that Linear) must match a central finite difference of the
/// float32 block forward along the gradient's own direction (v = g / max|g|, weights: 0.02·g / max|g|; the largest
/// directional derivative, so the least float32 noise), Richardson-extrapolated from ε = 1e-2 and 5e-3 (weights 5e-2 and
/// 2.5e-2); relative error ≤ 2e-4. Dropping the site map's derivative in its backward (the "forgot the quantizer" bug)
/// made 32 of the 36 checks it can affect fail when this test was written (2026-12-02; a weight site's dL/dx check
/// cannot see a weight-quantizer mutant), with errors from 3.1e-4 up; the correct code measured ≤ 6.3e-5.
@Suite(.enabled(if: SharedData.exists(datWeights), "../shared/models/dat-light-x2.safetensors not present"))
struct DATBlockBackwardTests {
    static let weights: [String: Tensor]? = try? ModelLoader.readStateDict(path: SharedData.path(datWeights))

    /// (site name, is weight site) for a block.
    static func sites(_ b: DATBlockBackward) -> [(String, Bool)] {
        var s: [(String, Bool)] = b.linearSites.map { ($0, false) } + b.linearSites.map { ($0, true) }
        for ops in b.operandSites { s += ops.map { ($0, false) } }
        let p = "\(b.prefix).attn.qkv"
        s += ["q", "k", "v"].map { ("\(p).\($0)", false) } + [("\(p).k", true)]
        return s
    }

    static func loss(_ y: [Float], _ g: [Float]) -> Double { dot(toDouble(y), toDouble(g)) }

    /// scale · g / max|g|.
    static func direction(_ g: [Float], scale: Float) -> [Float] {
        let m = g.map { abs($0) }.max() ?? 1
        return g.map { scale * $0 / max(m, 1e-30) }
    }

    /// (4·D(ε/2) − D(ε))/3 with D(e) = (f(e) − f(−e))/2e: the O(ε²) term cancels.
    static func richardson(_ eps: Float = 1e-2, _ f: (Float) -> Double) -> Double {
        func d(_ e: Float) -> Double { (f(e) - f(-e)) / (2 * Double(e)) }
        return (4 * d(eps / 2) - d(eps)) / 3
    }

    @Test(arguments: [2, 3])   // block 2: spatial, shifted; block 3: channel
    func sitePlumbingAgainstFD(_ index: Int) throws {
        let w = try #require(Self.weights)
        let h = 12, wd = 20, L = h * wd, C = 60   // seeds 501 (x), 502 (G), 503 (direction), 504 (weight direction)
        let x = gaussians(L * C, seed: 501), g = gaussians(L * C, seed: 502)
        let block = DATBlockBackward(weights: w, index: index)
        var worst = 0.0
        for (site, isWeight) in Self.sites(block) {
            let map = SmoothSiteMap(a: 0.3, adaptive: true)
            let q = isWeight ? SiteQuantizers(weight: [site: map]) : SiteQuantizers(activation: [site: map])
            let grads = ParameterGradients()
            block.registerParameters(grads, weights: w)
            let cache = block.forward(x, height: h, width: wd, quantizers: q)
            let dx = block.backward(cache, gradOutput: g, quantizers: q, grads: grads)
            #expect(map.forwardCalls == 1 && map.backwardCalls == 1, "\(site)\(isWeight ? " (weight)" : ""): quantizer calls \(map.forwardCalls)/\(map.backwardCalls)")
            let v = Self.direction(dx, scale: 1)
            let fd = Self.richardson { e in Self.loss(block.forward(zip(x, v).map { $0 + e * $1 }, height: h, width: wd, quantizers: q).output, g) }
            let an = dot(toDouble(dx), toDouble(v))
            let e = abs(fd - an) / abs(fd)
            worst = max(worst, e)
            #expect(e <= 2e-4, "\(site)\(isWeight ? " (weight)" : ""): dL/dx·v \(an) vs FD \(fd), rel \(e)")
            if isWeight {
                // dL/dW of this Linear along a random direction (qkv parts perturb their rows of the fused weight).
                let base = site.hasSuffix(".qkv.k") ? String(site.dropLast(2)) : site
                let wname = "\(base).weight", rows = site.hasSuffix(".qkv.k") ? 60..<120 : 0..<w[wname]!.shape[0]
                let inF = w[wname]!.shape[1]
                let gw = try #require(grads[wname])
                var dirW = [Float](repeating: 0, count: gw.count)
                let dRows = Self.direction(Array(gw.data[(rows.lowerBound * inF)..<(rows.upperBound * inF)]), scale: 0.02)
                for i in 0..<dRows.count { dirW[rows.lowerBound * inF + i] = dRows[i] }
                func perturbed(_ s: Float) -> Double {
                    var w2 = w
                    var t = w[wname]!
                    for r in rows { for i in 0..<inF { t.data[r * inF + i] += s * dirW[r * inF + i] } }
                    w2[wname] = t
                    return Self.loss(DATBlockBackward(weights: w2, index: index).forward(x, height: h, width: wd, quantizers: q).output, g)
                }
                let fdw = Self.richardson(5e-2, perturbed)
                var anw = 0.0
                for r in rows { for i in 0..<inF { anw += Double(gw.data[r * inF + i]) * Double(dirW[r * inF + i]) } }
                let ew = abs(fdw - anw) / abs(fdw)
                worst = max(worst, ew)
                #expect(ew <= 2e-4, "\(site) (weight): dL/dW·V \(anw) vs FD \(fdw), rel \(ew)")
            }
        }
        report("block \(index) site plumbing (\(Self.sites(block).count) sites, 12x20, smooth map c = 0.3/min(1, max|x|)): worst rel. error vs FD \(String(format: "%.1e", worst))")
    }

    /// Whole model on a 20×24 input: `.blockInputs` (recompute) gives the same bits as `.all`, and 1 thread the
    /// same bits as 3.
    @Test func retentionAndThreadIndependence() throws {
        let w = try #require(Self.weights)
        let model = try DATLightBackward(weights: w, scale: 2)
        let input = Tensor(shape: [1, 3, 20, 24], data: gaussians(3 * 20 * 24, seed: 601).map { 0.5 + 0.2 * $0 })
        let G = Tensor(shape: [1, 3, 40, 48], data: gaussians(3 * 40 * 48, seed: 602))
        func run(_ r: DATLightBackward.Retention) throws -> ([Float], [Float], [Float]) {
            let t = try model.forward(input, retention: r)
            let g = model.backward(t, gradOutput: G)
            let params = g.parameters.names.flatMap { g.parameters[$0]!.data }
            return (g.input.data, params, g.blockOutputs.flatMap { $0 })
        }
        let a = try Parallel.withThreads(2) { try run(.all) }
        let b = try Parallel.withThreads(2) { try run(.blockInputs) }
        let c = try Parallel.withThreads(1) { try run(.all) }
        let d = try Parallel.withThreads(3) { try run(.all) }
        #expect(a.0 == b.0 && a.1 == b.1 && a.2 == b.2, ".blockInputs differs from .all")
        #expect(c.0 == d.0 && c.1 == d.1 && c.2 == d.2, "1 thread differs from 3 threads")
        #expect(a.0 == c.0 && a.1 == c.1, "2 threads differ from 1 thread")
    }
}

import Foundation
import HarmoQ
import SREngine
import SRCalibration

/// Reads every quantized site's input on a forward (leaving it unchanged) and accumulates the SQNR of its
/// activation quantizer: Σ(x ⊘ s)² against Σ(x ⊘ s − Q(x ⊘ s))².
final class ActivationSQNRHook: ActivationHook {
    let quantizers: [String: (Quantizer, [Float]?)]
    /// Online rotations of the plan: the SQNR is that of the quantizer's real input x·R (the FP forward goes on unrotated).
    let rotations: [String: OnlineRotation]
    private(set) var signal: [String: Double] = [:]
    private(set) var noise: [String: Double] = [:]

    init(quantizers: [String: (Quantizer, [Float]?)], rotations: [String: OnlineRotation] = [:]) {
        self.quantizers = quantizers; self.rotations = rotations
    }

    func process(site: Site, index: Int, values raw: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int) {
        guard let (q, scale) = quantizers[site.name] else { return }
        let s = scale?.count == cols ? scale : nil
        let rotated = rotations[site.name].flatMap { $0.order == cols ? $0.rotated(UnsafeBufferPointer(raw), rows: rows) : nil }
        let values = rotated ?? Array(raw)
        var sig = 0.0, err = 0.0
        for i in 0..<values.count {
            let x = s.map { values[i] / $0[i % cols] } ?? values[i]
            let d = Double(x) - Double(q.fakeQuant(x))
            sig += Double(x) * Double(x); err += d * d
        }
        signal[site.name, default: 0] += sig
        noise[site.name, default: 0] += err
    }
}

/// Touches one site only: divides its input by the HSO scales (when given) and fake-quantizes it (when a
/// quantizer is given); every other site passes through in float.
final class SingleSiteHook: ActivationHook {
    let target: String
    let quantizer: Quantizer?
    let scale: [Float]?
    /// The site's online rotation (its weight is then W·R): applied first.
    let rotation: OnlineRotation?

    init(target: String, quantizer: Quantizer?, scale: [Float]?, rotation: OnlineRotation? = nil) {
        self.target = target; self.quantizer = quantizer; self.scale = scale; self.rotation = rotation
    }

    /// Elementwise with fixed parameters, so window-attention probabilities may arrive block by block (faster).
    var acceptsRowBlocks: Bool { true }

    func process(site: Site, index: Int, values: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int) {
        guard site.name == target else { return }
        if let r = rotation, r.order == cols { r.apply(values, rows: rows) }
        let s = scale?.count == cols ? scale : nil
        for i in 0..<values.count {
            var x = values[i]
            if let s { x /= s[i % cols] }
            if let q = quantizer { x = q.fakeQuant(x) }
            values[i] = x
        }
    }
}

/// Mean squared difference of two model outputs after clamping both to [0, 1] (the range the protocol keeps).
func clampedMSE(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count, "clampedMSE: \(a.count) vs \(b.count) values")
    var s = 0.0
    for i in a.indices {
        let d = Double(min(max(a[i], 0), 1)) - Double(min(max(b[i], 0), 1))
        s += d * d
    }
    return s / Double(max(1, a.count))
}

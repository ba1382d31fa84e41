import Foundation
import HarmoQ
import SREngine
import SRIO

/// Puts a QPARAMS calibration onto a model: fake-quantized weights on every linear site and a hook that
/// fake-quantizes every site's input (x ← Q_x(x ⊘ s) for linear sites with HSO scales).
public final class QuantizedModel: ActivationHook {
    let byName: [String: (SiteQuantization, Quantizer?, [Float]?)]

    init(_ q: QParams) throws {
        var m: [String: (SiteQuantization, Quantizer?, [Float]?)] = [:]
        for s in q.sites {
            m[s.name] = (s, s.activationQuantized ? try s.activationQuantizer() : nil, s.layer?.inputScale)
        }
        byName = m
    }

    /// Installs `qparams` on `model` (weights set, hook installed) and returns the hook. Throws when a site of the
    /// QPARAMS is missing from the model or has another shape.
    @discardableResult
    public static func apply(_ qparams: QParams, to model: any SRModel) throws -> QuantizedModel {
        let names = Set(model.sites.map(\.name))
        for s in qparams.sites where !names.contains(s.name) {
            throw QuantError("QPARAMS site '\(s.name)' is not a site of this \(model.architecture.rawValue) model (calibrated on '\(qparams.model)')")
        }
        model.restoreOriginalWeights()
        for s in qparams.sites {
            guard let l = s.layer else { continue }
            let site = try model.site(named: s.name)
            let current = try model.linearWeight(site).weight
            guard current.shape == [l.outputs, l.inputs] else {
                throw QuantError("QPARAMS site '\(s.name)' is \(l.outputs)×\(l.inputs), the model's weight is \(current.shape)")
            }
            let w = s.weightQuantized ? try l.quantizedWeight() : l.weight
            try model.setLinearWeight(site, Tensor(shape: [l.outputs, l.inputs], data: w))
        }
        let hook = try QuantizedModel(qparams)
        model.hook = hook
        return hook
    }

    /// Removes the hook and restores the loaded weights.
    public static func remove(from model: any SRModel) {
        model.hook = nil
        model.restoreOriginalWeights()
    }

    /// Elementwise with fixed parameters: the engine may deliver window-attention probabilities block by block
    /// (and concurrently); the result is bit-identical to whole-matrix delivery (EngineTests).
    public var acceptsRowBlocks: Bool { true }

    public func process(site: Site, index: Int, values: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int) {
        guard let (_, q, scale) = byName[site.name], let q else { return }
        QuantKernel(q).fakeQuantInPlace(values, divideBy: scale?.count == cols ? scale : nil)
    }
}

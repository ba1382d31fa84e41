import Foundation
import HarmoQ
import SRIO

/// The tensor file of a QPARAMS being read: lookups that name the site, and the check that no tensor is left over.
struct QParamsTensors {
    let file: SafeTensors.File
    let path: String
    static let suffixes = ["activation_bounds", "weight", "weight_lower", "weight_upper", "input_scale", "rotation", "bias"]

    func optional(_ site: String, _ kind: String, shape: [Int]? = nil) throws -> Tensor? {
        let key = site + "." + kind
        guard let e = file.entries[key] else { return nil }
        if let shape, e.shape != shape {
            throw QuantError("QPARAMS '\(path)': site \(site): tensor '\(key)' has shape \(e.shape), expected \(shape)")
        }
        return try file.tensor(key)
    }

    func required(_ site: String, _ kind: String, shape: [Int]? = nil) throws -> Tensor {
        guard let t = try optional(site, kind, shape: shape) else {
            throw QuantError("QPARAMS '\(path)': site \(site): tensor '\(site).\(kind)' is missing")
        }
        return t
    }

    /// Every tensor must belong to a site of the sidecar (a linear site's five kinds, an operand site's bounds).
    func checkAllUsed(by q: QParams) throws {
        var expected = Set<String>()
        for s in q.sites {
            expected.insert(s.name + ".activation_bounds")
            if s.kind == .linear { for k in Self.suffixes.dropFirst() { expected.insert(s.name + "." + k) } }
        }
        let extra = file.entries.keys.filter { !expected.contains($0) }.sorted()
        guard extra.isEmpty else {
            throw QuantError("QPARAMS '\(path)': tensor(s) \(extra.prefix(5).map { "'\($0)'" }.joined(separator: ", "))"
                             + (extra.count > 5 ? " and \(extra.count - 5) more" : "") + " belong to no site of the sidecar")
        }
    }
}

extension QParams {
    /// A format-2 plan from its sidecar and tensors (each value taken from the one place it is stored).
    static func fromV2(_ sc: QParamsSidecar, _ t: QParamsTensors) throws -> QParams {
        var q = QParams(toolVersion: sc.toolVersion, model: sc.model, architecture: sc.architecture, scale: sc.scale, method: sc.method,
                        weightBits: sc.weightBits, activationBits: sc.activationBits, seed: sc.seed, inputs: sc.inputs,
                        patchCount: sc.patchCount, patchSources: sc.patchSources, notes: sc.notes, config: sc.config, sites: [])
        q.format = sc.format
        q.modelFingerprint = sc.modelFingerprint
        q.rotation = sc.rotation
        q.operandRotation = sc.operandRotation
        q.refinements = sc.refinements
        for s in sc.sites {
            let b = try t.required(s.name, "activation_bounds", shape: [2])
            var layer: LayerQuantization?
            switch (s.kind, s.weightQuantizer) {
            case (.linear, let wq?):
                let w = try t.required(s.name, "weight")
                guard w.rank == 2, w.shape[0] > 0, w.shape[1] > 0 else {
                    throw QuantError("QPARAMS '\(t.path)': site \(s.name): tensor '\(s.name).weight' has shape \(w.shape), expected m×d")
                }
                let m = w.shape[0], d = w.shape[1]
                var l = try LayerQuantization.shell(weightBits: wq.bits, activationBits: s.activationBits, weightScheme: wq.scheme,
                                                    activationScheme: s.activationScheme, rounding: s.rounding,
                                                    weightGranularity: wq.granularity, outputs: m, inputs: d)
                l.weight = w.data
                l.weightLower = try t.required(s.name, "weight_lower", shape: [m]).data
                l.weightUpper = try t.required(s.name, "weight_upper", shape: [m]).data
                l.inputScale = try t.optional(s.name, "input_scale", shape: [d])?.data
                l.bias = try t.optional(s.name, "bias", shape: [m])?.data
                l.activationLower = b.data[0]; l.activationUpper = b.data[1]
                l.activationIntegerZeroPoint = s.activationZeroPoint != nil ? true : nil
                l.weightIntegerZeroPoint = wq.integerZeroPoint == true ? true : nil
                layer = l
            case (.linear, nil):
                throw QuantError("QPARAMS '\(t.path)': site \(s.name): a linear site needs 'weightQuantizer' in the sidecar")
            case (.matmulOperand, nil):
                break
            case (.matmulOperand, _?):
                throw QuantError("QPARAMS '\(t.path)': site \(s.name): a matmul-operand site has no weight, but the sidecar gives it a 'weightQuantizer'")
            }
            var rotation = s.rotation
            if let r = rotation, SiteRotation.storesMatrix(r.kind) {
                guard r.order > 0 else { throw QuantError("QPARAMS '\(t.path)': site \(s.name): rotation order \(r.order)") }
                rotation?.matrix = try t.required(s.name, "rotation", shape: [r.order, r.order]).data
            } else if t.file.entries[s.name + ".rotation"] != nil {
                throw QuantError("QPARAMS '\(t.path)': site \(s.name): tensor '\(s.name).rotation' is present, but the sidecar gives the site "
                                 + (rotation == nil ? "no rotation" : "a \(rotation!.kind.rawValue) rotation, which is regenerated from its seed"))
            }
            var site: SiteQuantization
            if let layer {
                site = SiteQuantization(linear: s.name, layer: layer, activationQuantized: s.activationQuantized,
                                        weightQuantized: s.weightQuantized, before: s.before, after: s.after,
                                        convergence: s.convergence, solveCertificate: s.solveCertificate, rotation: rotation)
            } else {
                site = SiteQuantization(operand: s.name, activation: ActivationQuantizerPlan(
                    bits: s.activationBits, scheme: s.activationScheme, rounding: s.rounding,
                    integerZeroPoint: s.activationZeroPoint != nil, lower: b.data[0], upper: b.data[1]),
                                        activationQuantized: s.activationQuantized)
                site.weightQuantized = s.weightQuantized
                site.before = s.before; site.after = s.after; site.convergence = s.convergence
                site.solveCertificate = s.solveCertificate; site.rotation = rotation
            }
            q.sites.append(site)
            if let z = s.activationZeroPoint {
                let derived = (try? q.sites[q.sites.count - 1].activationQuantizer())?.zeroPoint
                guard derived == z else {
                    throw QuantError("QPARAMS '\(t.path)': site \(s.name): sidecar activationZeroPoint \(z) disagrees with the zero point "
                                     + "\(derived.map(String.init) ?? "(none)") of tensor '\(s.name).activation_bounds' [\(b.data[0]), \(b.data[1])]")
                }
            }
        }
        return q
    }

    /// The copies a format-1 sidecar holds of values that are the tensors' (or each other's), as written.
    struct V1Copies: Decodable {
        struct Site: Decodable {
            var name: String
            var kind: SiteQuantization.Kind
            var activationBits: Int
            var activationScheme: QuantScheme
            var rounding: Rounding
            var activationLower: Float
            var activationUpper: Float
            var layer: LayerQuantization?
        }
        var sites: [Site]
    }

    /// A format-1 plan: its sidecar repeats the activation bounds (per site and per layer), the activation quantizer
    /// (per layer) and the weight shape. The tensors are the values; every copy must agree with them exactly, else the
    /// file was edited by hand and is refused, naming the site and both values. The plan then holds each value once.
    static func readV1(_ json: Data, _ dec: JSONDecoder, _ t: QParamsTensors) throws -> QParams {
        func disagree(_ site: String, _ what: String, _ a: String, _ b: String) -> QuantError {
            QuantError("QPARAMS '\(t.path)' (\(QParams.formatV1)): site \(site): \(what) disagree: \(a) vs \(b); "
                       + "a hand-edited file must change the value in one place (the tensor), not a copy")
        }
        func same(_ a: Float, _ b: Float) -> Bool { a == b || !a.isFinite || !b.isFinite }  // non-finite: checkFinite names it
        var tensorLayers: [String: LayerQuantization] = [:]
        var bounds: [String: (Float, Float)] = [:]
        for s in try dec.decode(V1Copies.self, from: json).sites {
            let name = s.name
            let b = try t.required(name, "activation_bounds", shape: [2])
            let lo = b.data[0], hi = b.data[1]
            if !same(s.activationLower, lo) || !same(s.activationUpper, hi) {
                throw disagree(name, "activation bounds", "sidecar activationLower/Upper [\(s.activationLower), \(s.activationUpper)]",
                               "tensor '\(name).activation_bounds' [\(lo), \(hi)]")
            }
            bounds[name] = (lo, hi)
            guard var l = s.layer else {
                if s.kind == .linear { throw QuantError("QPARAMS '\(t.path)': site \(name): a linear site needs 'layer' in the sidecar") }
                continue
            }
            guard s.kind == .linear else {
                throw QuantError("QPARAMS '\(t.path)': site \(name): a matmul-operand site has no weight, but the sidecar gives it a 'layer'")
            }
            if !same(l.activationLower, lo) || !same(l.activationUpper, hi) {
                throw disagree(name, "activation bounds", "sidecar layer.activationLower/Upper [\(l.activationLower), \(l.activationUpper)]",
                               "tensor '\(name).activation_bounds' [\(lo), \(hi)]")
            }
            if l.activationBits != s.activationBits { throw disagree(name, "activation bits", "layer.activationBits \(l.activationBits)", "activationBits \(s.activationBits)") }
            if l.activationScheme != s.activationScheme {
                throw disagree(name, "activation scheme", "layer.activationScheme \(l.activationScheme)", "activationScheme \(s.activationScheme)")
            }
            if l.rounding != s.rounding { throw disagree(name, "rounding", "layer.rounding \(l.rounding)", "rounding \(s.rounding)") }
            let w = try t.required(name, "weight")
            guard w.shape == [l.outputs, l.inputs] else {
                throw disagree(name, "weight shape", "sidecar layer.outputs×inputs \(l.outputs)×\(l.inputs)", "tensor '\(name).weight' \(w.shape)")
            }
            let lower = try t.required(name, "weight_lower", shape: [l.outputs]).data
            let upper = try t.required(name, "weight_upper", shape: [l.outputs]).data
            let scale = try t.optional(name, "input_scale", shape: [l.inputs])?.data
            // Format 1 wrote these arrays empty (the tensors hold them); a filled-in copy must equal the tensor.
            for (what, copy, tensor) in [("weight", l.weight, w.data), ("weightLower", l.weightLower, lower),
                                         ("weightUpper", l.weightUpper, upper), ("inputScale", l.inputScale ?? [], scale ?? [])]
            where !copy.isEmpty && copy != tensor {
                throw disagree(name, what, "sidecar layer.\(what) (\(copy.count) values)", "its tensor (\(tensor.count) values)")
            }
            l.weight = w.data; l.weightLower = lower; l.weightUpper = upper; l.inputScale = scale
            l.activationLower = lo; l.activationUpper = hi
            tensorLayers[name] = l
        }
        // The copies agree with the tensors and each other: the plan, with each value taken from its tensor.
        var q = try dec.decode(QParams.self, from: json)
        for i in q.sites.indices {
            let name = q.sites[i].name
            if let l = tensorLayers[name] { q.sites[i].layer = l }
            if let (lo, hi) = bounds[name] { q.sites[i].activationLower = lo; q.sites[i].activationUpper = hi }
        }
        return q
    }

    /// Throws, naming the site, when a value cannot be used or contradicts another: duplicate site names, a linear site
    /// without weights (or an operand with), a quantized side whose bits differ from the run's, bounds with lower ≥
    /// upper (per channel for weights), a per-tensor weight grid whose rows differ, HSO scales ≤ 0, array lengths.
    func checkConsistent(_ context: String) throws {
        func fail(_ site: String, _ what: String) -> QuantError { QuantError("\(context): site \(site): \(what)") }
        var seen = Set<String>()
        for s in sites {
            guard seen.insert(s.name).inserted else { throw QuantError("\(context): site \(s.name) appears twice") }
            if s.activationQuantized != quantizesActivations {
                throw fail(s.name, "activationQuantized is \(s.activationQuantized) but the run's activation bits are \(activationBits)")
            }
            if let aq = s.activationPlan {
                guard aq.bits == activationBits else {
                    throw fail(s.name, "activation bits \(aq.bits) differ from the run's \(activationBits)")
                }
                do { _ = try aq.quantizer() } catch {
                    throw fail(s.name, "activation_bounds [\(s.activationLower), \(s.activationUpper)] are not a quantizer: \(error)")
                }
            }
            guard (s.kind == .linear) == (s.layer != nil) else {
                throw fail(s.name, s.kind == .linear ? "a linear site without weights" : "a matmul-operand site with weights")
            }
            if let r = s.rotation {
                guard let l = s.layer else { throw fail(s.name, "a matmul-operand site with a rotation (only linear inputs are rotated)") }
                guard r.order == l.inputs else { throw fail(s.name, "rotation of order \(r.order), but the site has \(l.inputs) inputs") }
                if let m = r.matrix, m.count != r.order * r.order {
                    throw fail(s.name, "rotation matrix has \(m.count) values, expected \(r.order)×\(r.order)")
                }
                do { _ = try r.rotation() } catch { throw fail(s.name, "\(error)") }
            }
            guard let l = s.layer else { continue }
            let m = l.outputs, d = l.inputs
            guard m > 0, d > 0, l.weight.count == m * d, l.weightLower.count == m, l.weightUpper.count == m else {
                throw fail(s.name, "weight tensors do not match its \(m)×\(d) shape")
            }
            if let b = l.bias, b.count != m { throw fail(s.name, "bias has \(b.count) values, expected \(m)") }
            if l.bias != nil, operandRotation == nil {
                throw fail(s.name, "a stored bias, but the plan records no folded operand rotation (operandRotation)")
            }
            if let sc = l.inputScale {
                guard sc.count == d else { throw fail(s.name, "input_scale has \(sc.count) values, expected \(d)") }
                if let j = sc.firstIndex(where: { !($0 > 0) }) { throw fail(s.name, "input_scale[\(j)] = \(sc[j]) is not positive") }
            }
            switch l.weightGranularity {
            case .perChannel: break
            case .perTensor:
                if let i = (0..<m).first(where: { l.weightLower[$0] != l.weightLower[0] || l.weightUpper[$0] != l.weightUpper[0] }) {
                    throw fail(s.name, "per-tensor weight grid, but channel \(i) has bounds [\(l.weightLower[i]), \(l.weightUpper[i])] "
                               + "and channel 0 [\(l.weightLower[0]), \(l.weightUpper[0])]")
                }
            }
            if s.weightQuantized != quantizesWeights {
                throw fail(s.name, "weightQuantized is \(s.weightQuantized) but the run's weight bits are \(weightBits)")
            }
            guard let wq = s.weightPlan else { continue }
            guard wq.bits == weightBits else { throw fail(s.name, "weight bits \(wq.bits) differ from the run's \(weightBits)") }
            for i in 0..<m {
                do { _ = try wq.quantizer(row: i) }
                catch { throw fail(s.name, "weight_lower/weight_upper of channel \(i) [\(l.weightLower[i]), \(l.weightUpper[i])] are not a quantizer: \(error)") }
            }
        }
    }
}

extension LayerQuantization {
    /// A `LayerQuantization` with the given quantizers and shape and empty arrays (the core type has no public
    /// memberwise initialiser; every field is a public var, so the reader fills in the rest).
    static func shell(weightBits: Int, activationBits: Int, weightScheme: QuantScheme, activationScheme: QuantScheme,
                      rounding: Rounding, weightGranularity: WeightGranularity, outputs: Int, inputs: Int) throws -> LayerQuantization {
        struct Shell: Encodable {
            var weightBits: Int, activationBits: Int, weightScheme: QuantScheme, activationScheme: QuantScheme
            var rounding: Rounding, weightGranularity: WeightGranularity, outputs: Int, inputs: Int
            var weightLower: [Float] = [], weightUpper: [Float] = [], activationLower: Float = 0, activationUpper: Float = 0
            var weight: [Float] = []
        }
        let s = Shell(weightBits: weightBits, activationBits: activationBits, weightScheme: weightScheme, activationScheme: activationScheme,
                      rounding: rounding, weightGranularity: weightGranularity, outputs: outputs, inputs: inputs)
        return try JSONDecoder().decode(LayerQuantization.self, from: try JSONEncoder().encode(s))
    }
}

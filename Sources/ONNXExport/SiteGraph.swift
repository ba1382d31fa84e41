import HarmoQ
import SRCalibration

/// The ONNX QDQ graph of one quantized linear site, equal by construction to this project's fake-quant Linear:
///
///     x [N,d] ─(Div hso_scale)─ QuantizeLinear(x_scale, 0) ─(Clip x_code_min…x_code_max)─ DequantizeLinear ─┐
///     w_codes [d,m] int8 ─ DequantizeLinear(w_scale [m], 0, axis=1) ───────────────────────────────── MatMul ─ (Add bias) ─ y [N,m]
///
/// A site with an online rotation (`SiteQuantization.rotation`) starts with MatMul(x, R) (R the float32 matrix
/// `OnlineRotation` multiplies by, initializer `rotation` [d, d]); its weight is already W·R.
///
/// Graph outputs are `y` and, when the activation is quantized, `x_codes` (the activation codes), so a runtime's
/// codes can be compared with ours element by element. Our symmetric quantizer is
/// q = clip(round_half_even(x/Δ), −2^(b−1), 2^(b−1)−1), x̂ = q·Δ; ONNX QuantizeLinear is
/// saturate_int8(round_half_even(x/scale) + zp) and DequantizeLinear (q − zp)·scale, so with scale = Δ (the same
/// float32), zp = 0 and a Clip to the b-bit code range (omitted at 8 bits, where saturation is the clip) every
/// code and every dequantized value is the same float32 operation. The HSO divisor x ⊘ s is a Div by the same
/// float32 vector.
///
/// An affine activation grid (q = round((clip(x,α,β) − α)/Δ), x̂ = q·Δ + α) has the non-integer zero point −α/Δ, which
/// standard QDQ cannot hold; it is written exactly with the shift in float around a uint8 QDQ pair:
/// Clip(x, α, β) → Sub α → QuantizeLinear(Δ, 0 uint8) → Clip(0, 2^b−1) → DequantizeLinear → Add α — the same float32
/// operations in the same order (a runtime fuses this into integer code as codes q with the α·ΣŴ term in the bias).
/// An affine grid with an integer zero point z (`Quantizer.zeroPoint`, HarmoQ corrected's default) is standard QDQ:
/// QuantizeLinear(Δ, z uint8) → Clip(0, 2^b−1) → DequantizeLinear(Δ, z): round_half_even(x/Δ) + z, saturated, is our code
/// and (q − z)·Δ our x̂. See docs/onnx.md.
public enum SiteGraph {
    /// Names of the graph's inputs, outputs and initializers.
    public enum Name {
        public static let input = "x"
        public static let output = "y"
        public static let codes = "x_codes"
        public static let hsoScale = "hso_scale"
        public static let activationScale = "x_scale"
        public static let activationZeroPoint = "x_zero_point"
        public static let codeMin = "x_code_min"
        public static let codeMax = "x_code_max"
        public static let activationLower = "x_lower"
        public static let activationUpper = "x_upper"
        public static let weightCodes = "w_codes"
        public static let weightScale = "w_scale"
        public static let weightZeroPoint = "w_zero_point"
        public static let floatWeight = "w"
        public static let bias = "bias"
        public static let rotation = "rotation"
    }

    /// Why `site` cannot be written as an exact ONNX QDQ graph, or nil when it can.
    public static func obstacle(_ site: SiteQuantization) -> String? {
        guard site.layer != nil else { return "not a linear site (no weight)" }
        if site.activationPlan == nil && site.weightPlan == nil { return "neither the input nor the weight is quantized" }
        if let a = site.activationPlan,
           let why = gridObstacle(scheme: .symmetric, bits: a.bits, rounding: a.rounding,
                                  lowers: [a.lower], uppers: [a.upper], what: "activation") {
            return why   // affine activations are written with the float shift (see the type's doc)
        }
        if let w = site.weightPlan,
           let why = gridObstacle(scheme: w.scheme, bits: w.bits, rounding: w.rounding,
                                  lowers: w.lower, uppers: w.upper, what: "weight") {
            return why
        }
        return nil
    }

    static func gridObstacle(scheme: QuantScheme, bits: Int, rounding: Rounding, lowers: [Float], uppers: [Float],
                             what: String) -> String? {
        if rounding != .halfToEven {
            return "\(what) rounds half away from zero; ONNX QuantizeLinear rounds half to even"
        }
        if bits > 8 { return "\(what) has \(bits) bits; int8 QDQ holds at most 8" }
        if scheme == .affine {
            // ONNX: q = round(x/s) + z, z an integer. Ours: q = round((clip(x,α,β) − α)/Δ): that is the ONNX form only
            // when −α/Δ is an integer, and even then (x − α)/Δ and x/Δ − α/Δ round differently in float32.
            let z = zip(lowers, uppers).map { lo, up in -lo / ((up - lo) / Float((1 << bits) - 1)) }
            let nonInteger = z.filter { $0 != $0.rounded() }.count
            return "\(what) grid is affine (codes round((clip(x,α,β)−α)/Δ)): the zero point −α/Δ is not an integer for "
                + "\(nonInteger) of \(z.count) channel(s) (first \(z[0])), and ONNX computes round(x/Δ)+z, which rounds "
                + "differently in float32 even when it is"
        }
        return nil
    }

    /// The site's graph; `bias` is the Linear's bias (m values) or nil. Throws when `obstacle(site)` is non-nil.
    public static func build(_ site: SiteQuantization, bias: [Float]?, producerVersion: String,
                             metadata: [(String, String)] = []) throws -> ONNXModel {
        if let why = obstacle(site) { throw QuantError("site \(site.name) is not exportable as ONNX QDQ: \(why)") }
        let l = site.layer!
        let d = l.inputs, m = l.outputs
        if let b = bias, b.count != m { throw QuantError("site \(site.name): bias has \(b.count) values, the weight has \(m) outputs") }
        var nodes: [ONNXNode] = []
        var inits: [ONNXTensor] = []
        var outputs: [ONNXValueInfo] = []
        var x = Name.input

        // As `QuantizedModel` does: the online rotation first (x ← x·R, whether or not x is quantized; the stored
        // weight is already W·R), as a float MatMul by R [d, d].
        if let r = site.rotation {
            guard r.order == d else { throw QuantError("site \(site.name): rotation of order \(r.order), d = \(d)") }
            inits.append(.float(Name.rotation, dims: [d, d], try r.rotation().floatMatrix))
            nodes.append(ONNXNode("MatMul", name: "rotate", inputs: [x, Name.rotation], outputs: ["x_rotated"]))
            x = "x_rotated"
        }
        // As `QuantizedModel` does: the HSO divisor applies together with the activation quantizer.
        if site.activationPlan != nil, let s = site.inputScale {
            guard s.count == d else { throw QuantError("site \(site.name): input_scale has \(s.count) values, d = \(d)") }
            inits.append(.float(Name.hsoScale, dims: [d], s))
            nodes.append(ONNXNode("Div", name: "hso_divide", inputs: [x, Name.hsoScale], outputs: ["x_scaled"]))
            x = "x_scaled"
        }
        if let a = site.activationPlan {
            let q = try a.quantizer()
            let unsigned = q.scheme == .affine
            // Float zero point: the shift in float around a uint8 QDQ pair; integer zero point z: plain QDQ with z.
            let affine = unsigned && q.zeroPoint == nil
            let zeroPoint: ONNXTensor = unsigned ? .uint8(Name.activationZeroPoint, dims: [], [UInt8(q.zeroPoint ?? 0)])
                                                 : .int8(Name.activationZeroPoint, dims: [], [0])
            inits.append(.float(Name.activationScale, dims: [], [q.step]))
            inits.append(zeroPoint)
            if affine {
                inits.append(.float(Name.activationLower, dims: [], [q.lower]))
                inits.append(.float(Name.activationUpper, dims: [], [q.upper]))
                nodes.append(ONNXNode("Clip", name: "x_clip_bounds", inputs: [x, Name.activationLower, Name.activationUpper],
                                      outputs: ["x_clipped"]))
                nodes.append(ONNXNode("Sub", name: "x_shift", inputs: ["x_clipped", Name.activationLower], outputs: ["x_shifted"]))
                x = "x_shifted"
            }
            let needsClip = q.bits < 8
            let quantOut = needsClip ? "x_q" : Name.codes
            nodes.append(ONNXNode("QuantizeLinear", name: "x_quantize",
                                  inputs: [x, Name.activationScale, Name.activationZeroPoint], outputs: [quantOut]))
            if needsClip {
                if unsigned {
                    inits.append(.uint8(Name.codeMin, dims: [], [UInt8(q.codeMin)]))
                    inits.append(.uint8(Name.codeMax, dims: [], [UInt8(q.codeMax)]))
                } else {
                    inits.append(.int8(Name.codeMin, dims: [], [Int8(q.codeMin)]))
                    inits.append(.int8(Name.codeMax, dims: [], [Int8(q.codeMax)]))
                }
                nodes.append(ONNXNode("Clip", name: "x_code_range", inputs: [quantOut, Name.codeMin, Name.codeMax],
                                      outputs: [Name.codes]))
            }
            let dq = affine ? "x_dq_shifted" : "x_dq"
            nodes.append(ONNXNode("DequantizeLinear", name: "x_dequantize",
                                  inputs: [Name.codes, Name.activationScale, Name.activationZeroPoint], outputs: [dq]))
            if affine {
                nodes.append(ONNXNode("Add", name: "x_unshift", inputs: [dq, Name.activationLower], outputs: ["x_dq"]))
            }
            outputs.append(ONNXValueInfo(name: Name.codes, elemType: unsigned ? .uint8 : .int8, shape: [.param("N"), .value(d)]))
            x = "x_dq"
        }
        let w: String
        if site.weightPlan != nil {
            let (codes, scales) = try weightCodes(l)
            inits.append(.int8(Name.weightCodes, dims: [d, m], codes))
            inits.append(.float(Name.weightScale, dims: [m], scales))
            inits.append(.int8(Name.weightZeroPoint, dims: [m], [Int8](repeating: 0, count: m)))
            nodes.append(ONNXNode("DequantizeLinear", name: "w_dequantize",
                                  inputs: [Name.weightCodes, Name.weightScale, Name.weightZeroPoint], outputs: ["w_dq"],
                                  attributes: [ONNXAttribute("axis", .int(1))]))
            w = "w_dq"
        } else {
            inits.append(.float(Name.floatWeight, dims: [d, m], transpose(l.weight, rows: m, cols: d)))
            w = Name.floatWeight
        }
        if let b = bias {
            inits.append(.float(Name.bias, dims: [m], b))
            nodes.append(ONNXNode("MatMul", name: "matmul", inputs: [x, w], outputs: ["xw"]))
            nodes.append(ONNXNode("Add", name: "bias_add", inputs: ["xw", Name.bias], outputs: [Name.output]))
        } else {
            nodes.append(ONNXNode("MatMul", name: "matmul", inputs: [x, w], outputs: [Name.output]))
        }
        outputs.insert(ONNXValueInfo(name: Name.output, elemType: .float, shape: [.param("N"), .value(m)]), at: 0)
        let graph = ONNXGraph(name: site.name, nodes: nodes, initializers: inits,
                              inputs: [ONNXValueInfo(name: Name.input, elemType: .float, shape: [.param("N"), .value(d)])],
                              outputs: outputs,
                              docString: "harmoq fake-quant Linear site \(site.name): W\(site.weightPlan.map { String($0.bits) } ?? "fp")"
                                + "A\(site.activationPlan.map { String($0.bits) } ?? "fp"), \(d)->\(m)")
        return ONNXModel(graph: graph, producerVersion: producerVersion, metadata: [("site", site.name)] + metadata)
    }

    /// The weight's int8 codes transposed to [d, m] (column i = output channel i) and the per-channel steps Δ_i:
    /// DequantizeLinear gives Float(code)·Δ_i, bit for bit `LayerQuantization.quantizedWeight()`.
    public static func weightCodes(_ l: LayerQuantization) throws -> (codes: [Int8], scales: [Float]) {
        let qs = try l.weightQuantizers()
        let d = l.inputs, m = l.outputs
        var codes = [Int8](repeating: 0, count: d * m)
        for i in 0..<m { for j in 0..<d { codes[j * m + i] = Int8(qs[i].code(l.weight[i * d + j])) } }
        return (codes, qs.map(\.step))
    }

    static func transpose(_ a: [Float], rows: Int, cols: Int) -> [Float] {
        var t = [Float](repeating: 0, count: a.count)
        for r in 0..<rows { for c in 0..<cols { t[c * rows + r] = a[r * cols + c] } }
        return t
    }
}

/// Accumulates an ONNX graph in execution order: nodes, initializers (weights and constants) and unique value names.
/// Each helper appends one node and returns the name of its output, so a forward reads like the engine's code.
final class GraphBuilder {
    private(set) var nodes: [ONNXNode] = []
    private(set) var initializers: [ONNXTensor] = []
    private var used: Set<String> = []
    private var scalars: [String: String] = [:]

    /// A value name not used yet, derived from `hint` (dots and slashes kept: they are legal in ONNX names).
    func fresh(_ hint: String) -> String {
        if used.insert(hint).inserted { return hint }
        var i = 2
        while !used.insert("\(hint)_\(i)").inserted { i += 1 }
        return "\(hint)_\(i)"
    }

    /// Appends `type(inputs)` with one output named after `hint`; returns the output name.
    @discardableResult
    func op(_ type: String, _ inputs: [String], _ hint: String, _ attributes: [ONNXAttribute] = []) -> String {
        let out = fresh(hint)
        nodes.append(ONNXNode(type, name: "n:" + out, inputs: inputs, outputs: [out], attributes: attributes))
        return out
    }

    /// The value made by `make` the first time `key` is asked for, the same name afterwards (shared constants such as
    /// window indices that several blocks use).
    func cached(_ key: String, _ make: () -> String) -> String {
        if let n = scalars["cached:" + key] { return n }
        let n = make()
        scalars["cached:" + key] = n
        return n
    }

    // MARK: initializers

    func floats(_ hint: String, dims: [Int], _ v: [Float]) -> String {
        let n = fresh(hint)
        initializers.append(.float(n, dims: dims, v))
        return n
    }

    func int64s(_ hint: String, dims: [Int], _ v: [Int64]) -> String {
        let n = fresh(hint)
        initializers.append(.int64(n, dims: dims, v))
        return n
    }

    func int8s(_ hint: String, dims: [Int], _ v: [Int8]) -> String {
        let n = fresh(hint)
        initializers.append(.int8(n, dims: dims, v))
        return n
    }

    /// A float32 scalar constant (shared by every use of the same value).
    func scalar(_ v: Float) -> String {
        let key = "f\(v.bitPattern)"
        if let n = scalars[key] { return n }
        let n = floats("const_f32_\(v)", dims: [], [v])
        scalars[key] = n
        return n
    }

    /// An int8 scalar constant (shared).
    func int8Scalar(_ v: Int8) -> String {
        let key = "i8_\(v)"
        if let n = scalars[key] { return n }
        let n = int8s("const_i8_\(v)", dims: [], [v])
        scalars[key] = n
        return n
    }

    /// A uint8 scalar constant (shared).
    func uint8Scalar(_ v: UInt8) -> String {
        let key = "u8_\(v)"
        if let n = scalars[key] { return n }
        let n = fresh("const_u8_\(v)")
        initializers.append(.uint8(n, dims: [], [v]))
        scalars[key] = n
        return n
    }

    /// A 1-D int64 constant (shared), e.g. a Reshape target or Slice bounds.
    func shape(_ v: [Int]) -> String {
        let key = "shape_" + v.map(String.init).joined(separator: "_")
        if let n = scalars[key] { return n }
        let n = int64s("const_" + key.replacingOccurrences(of: "-", with: "m"), dims: [v.count], v.map(Int64.init))
        scalars[key] = n
        return n
    }

    // MARK: ops

    func add(_ a: String, _ b: String, _ hint: String) -> String { op("Add", [a, b], hint) }
    func mul(_ a: String, _ b: String, _ hint: String) -> String { op("Mul", [a, b], hint) }
    func reshape(_ x: String, _ dims: [Int], _ hint: String) -> String { op("Reshape", [x, shape(dims)], hint) }
    func transpose(_ x: String, _ perm: [Int], _ hint: String) -> String {
        op("Transpose", [x], hint, [ONNXAttribute("perm", .ints(perm.map(Int64.init)))])
    }

    /// x[..., lo..<hi] along `axis` (static bounds).
    func slice(_ x: String, axis: Int, _ lo: Int, _ hi: Int, _ hint: String) -> String {
        op("Slice", [x, shape([lo]), shape([hi]), shape([axis])], hint)
    }

    func concat(_ xs: [String], axis: Int, _ hint: String) -> String {
        op("Concat", xs, hint, [ONNXAttribute("axis", .int(Int64(axis)))])
    }

    /// Exact-form GELU, 0.5·x·(1 + erf(x/√2)): Div, Erf, Add, Mul, Mul.
    func gelu(_ x: String, _ hint: String) -> String {
        let e = op("Erf", [op("Div", [x, scalar(Float(2).squareRoot())], hint + ".div_sqrt2")], hint + ".erf")
        let t = mul(x, add(e, scalar(1), hint + ".one_plus"), hint + ".x_times")
        return mul(t, scalar(0.5), hint)
    }

    /// The graph with input `input` (float32, `inputShape`) and output `output` (float32, `outputShape`).
    func model(name: String, input: String, inputShape: [Int], output: String, outputShape: [Int], doc: String,
               producerVersion: String, metadata: [(String, String)]) -> ONNXModel {
        let graph = ONNXGraph(name: name, nodes: nodes, initializers: initializers,
                              inputs: [ONNXValueInfo(name: input, elemType: .float, shape: inputShape.map { .value($0) })],
                              outputs: [ONNXValueInfo(name: output, elemType: .float, shape: outputShape.map { .value($0) })],
                              docString: doc)
        var m = ONNXModel(graph: graph, producerVersion: producerVersion, metadata: metadata)
        m.opsetVersion = ONNXModel.wholeModelOpset
        m.irVersionNumber = ONNXModel.wholeModelIRVersion
        return m
    }
}

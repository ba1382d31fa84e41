import SRIO

/// A Linear site of the backward-capable forward: y = Q_a(x)·Q_w(W)ᵀ + b, with optional differentiable
/// quantizers on the input (site `name`) and on the weight (weight quantizer of site `name`).
/// The forward runs the engine's GEMM with a packed weight, as `Linear.apply`, so the FP result is identical.
final class QuantLinear {
    let name: String
    /// State-dict names of the weight and bias (the weight may be a row slice of a larger tensor, see `rowOffset`).
    let weightName: String, biasName: String
    let rowOffset: Int
    let inFeatures: Int, outFeatures: Int
    let weight: [Float], bias: [Float]
    private let packedFP: GEMM.Packed

    struct Cache {
        /// Q_a(x) (nil without an input quantizer: x itself is cached by the caller).
        var xq: [Float]?
        /// Q_w(W) (nil without a weight quantizer).
        var wq: [Float]?
        var packed: GEMM.Packed?
    }

    init(name: String, weightName: String, biasName: String, rowOffset: Int = 0, weight: [Float], bias: [Float], inFeatures: Int) {
        self.name = name; self.weightName = weightName; self.biasName = biasName; self.rowOffset = rowOffset
        self.inFeatures = inFeatures; outFeatures = bias.count
        self.weight = weight; self.bias = bias
        packedFP = GEMM.Packed(transposeOf: weight, rows: outFeatures, cols: inFeatures)
    }

    /// out (rows × outFeatures, stride ldo) from x (rows × inFeatures, dense).
    func forward(_ x: [Float], rows: Int, out: UnsafeMutablePointer<Float>, ldo: Int, quantizers q: SiteQuantizers) -> Cache {
        var c = Cache()
        if let qa = q.activation[name] {
            var y = [Float](repeating: 0, count: x.count)
            x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
                qa.quantize(xp.baseAddress!, into: yp.baseAddress!, rows: rows, cols: inFeatures) } }
            c.xq = y
        }
        if let qw = q.weight[name] {
            var wq = [Float](repeating: 0, count: weight.count)
            weight.withUnsafeBufferPointer { wp in wq.withUnsafeMutableBufferPointer { o in
                qw.quantize(wp.baseAddress!, into: o.baseAddress!, rows: outFeatures, cols: inFeatures) } }
            c.wq = wq
            c.packed = GEMM.Packed(transposeOf: wq, rows: outFeatures, cols: inFeatures)
        }
        let packed = c.packed ?? packedFP
        (c.xq ?? x).withUnsafeBufferPointer { xp in bias.withUnsafeBufferPointer { bp in
            GEMM.multiply(m: rows, a: xp.baseAddress!, lda: inFeatures, packed: packed, c: out, ldc: ldo, bias: bp.baseAddress!)
        }}
        return c
    }

    /// dx (rows × inFeatures, dense; added when `accumulate`) and parameter gradients from dy (stride ldy).
    func backward(_ c: Cache, x: [Float], dy: UnsafePointer<Float>, ldy: Int, rows: Int, dx: UnsafeMutablePointer<Float>, accumulate: Bool,
                  quantizers q: SiteQuantizers, grads: ParameterGradients) {
        let w = c.wq ?? weight, xin = c.xq ?? x
        var dWq = [Float](repeating: 0, count: weight.count)
        let qa = q.activation[name]
        let dxq: UnsafeMutablePointer<Float> = qa == nil ? dx : .allocate(capacity: rows * inFeatures)
        defer { if qa != nil { dxq.deallocate() } }
        w.withUnsafeBufferPointer { wp in xin.withUnsafeBufferPointer { xp in dWq.withUnsafeMutableBufferPointer { dwp in
            grads.with(biasName) { db in
                LinearBackward.backward(x: xp.baseAddress!, ldx: inFeatures, dy: dy, ldy: ldy, rows: rows, weight: wp.baseAddress!,
                                        inFeatures: inFeatures, outFeatures: outFeatures, dx: dxq, lddx: inFeatures,
                                        accumulate: qa == nil && accumulate, dW: dwp.baseAddress!, db: db + rowOffset)
            }
        }}}
        if let qa {
            let tmp = UnsafeMutablePointer<Float>.allocate(capacity: rows * inFeatures)
            defer { tmp.deallocate() }
            x.withUnsafeBufferPointer { xp in qa.backward(input: xp.baseAddress!, gradOutput: dxq, gradInput: tmp, rows: rows, cols: inFeatures) }
            for i in 0..<(rows * inFeatures) { dx[i] = accumulate ? dx[i] + tmp[i] : tmp[i] }
        }
        if let qw = q.weight[name] {
            weight.withUnsafeBufferPointer { wp in dWq.withUnsafeMutableBufferPointer { g in
                qw.backward(input: wp.baseAddress!, gradOutput: g.baseAddress!, gradInput: g.baseAddress!, rows: outFeatures, cols: inFeatures)
            }}
        }
        grads.with(weightName) { p in
            let o = p + rowOffset * inFeatures
            for i in 0..<dWq.count { o[i] += dWq[i] }
        }
    }
}

import SRIO

/// DAT's '3conv' residual convolution with a tape: Conv3×3(C→C/4) · LeakyReLU(0.2) · Conv1×1 · LeakyReLU(0.2) ·
/// Conv3×3(C/4→C), forward arithmetic as `ThreeConv.apply`.
struct ThreeConvBackward {
    let prefix: String
    let convs: [Convolution.Dense]
    let grads: [DenseConvBackward]

    init(_ w: [String: Tensor], _ p: String) {
        prefix = p
        convs = [0, 2, 4].map { Convolution.Dense(weight: w["\(p).\($0).weight"]!, bias: w["\(p).\($0).bias"]!.data) }
        grads = [0, 2, 4].map { DenseConvBackward(weight: w["\(p).\($0).weight"]!) }
    }

    var parameterNames: [String] { [0, 2, 4].flatMap { ["\(prefix).\($0).weight", "\(prefix).\($0).bias"] } }

    struct Cache { var x: [Float] = [], a: [Float] = [], la: [Float] = [], b: [Float] = [], lb: [Float] = [] }

    func forward(_ x: [Float], height h: Int, width w: Int) -> (out: [Float], cache: Cache) {
        var c = Cache()
        c.x = x
        c.a = convs[0].apply(x, height: h, width: w)
        c.la = c.a
        c.la.withUnsafeMutableBufferPointer { Activations.leakyReLU($0.baseAddress!, count: $0.count) }
        c.b = convs[1].apply(c.la, height: h, width: w)
        c.lb = c.b
        c.lb.withUnsafeMutableBufferPointer { Activations.leakyReLU($0.baseAddress!, count: $0.count) }
        return (convs[2].apply(c.lb, height: h, width: w), c)
    }

    func backward(_ c: Cache, dy: [Float], height h: Int, width w: Int, into g: ParameterGradients) -> [Float] {
        let dLb = conv(2, x: c.lb, dy: dy, h, w, g)
        let dB = ActivationBackward.leakyReLU(x: c.b, dy: dLb)
        let dLa = conv(1, x: c.la, dy: dB, h, w, g)
        let dA = ActivationBackward.leakyReLU(x: c.a, dy: dLa)
        return conv(0, x: c.x, dy: dA, h, w, g)
    }

    private func conv(_ i: Int, x: [Float], dy: [Float], _ h: Int, _ w: Int, _ g: ParameterGradients) -> [Float] {
        DenseConvBackward.run(grads[i], "\(prefix).\(2 * i)", x: x, dy: dy, height: h, width: w, into: g)
    }
}

extension DenseConvBackward {
    /// dx (returned) and parameter gradients of the conv named `name` (adds into `g`).
    static func run(_ b: DenseConvBackward, _ name: String, x: [Float], dy: [Float], height h: Int, width w: Int,
                    into g: ParameterGradients) -> [Float] {
        var dx = [Float](repeating: 0, count: h * w * b.inChannels)
        x.withUnsafeBufferPointer { xp in dy.withUnsafeBufferPointer { gp in dx.withUnsafeMutableBufferPointer { d in
            b.inputGradient(gp.baseAddress!, height: h, width: w, into: d.baseAddress!)
            g.with("\(name).weight") { dw in g.with("\(name).bias") { db in
                b.parameterGradients(x: xp.baseAddress!, dy: gp.baseAddress!, height: h, width: w, dW: dw, db: db)
            }}
        }}}
        return dx
    }
}

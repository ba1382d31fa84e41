import CKernels
import Foundation
import SRIO

/// `conv` / `conv_after_body` with resi_connection '3conv':
/// Conv3×3(C→C/4) · LeakyReLU(0.2) · Conv1×1(C/4→C/4) · LeakyReLU(0.2) · Conv3×3(C/4→C).
struct ThreeConv {
    let c0: Convolution.Dense, c2: Convolution.Dense, c4: Convolution.Dense

    init(_ s: WeightStore, _ p: String, dim: Int) {
        let q = dim / 4
        c0 = Convolution.Dense(weight: s.take("\(p).0.weight", [q, dim, 3, 3]), bias: s.vector("\(p).0.bias", q))
        c2 = Convolution.Dense(weight: s.take("\(p).2.weight", [q, q, 1, 1]), bias: s.vector("\(p).2.bias", q))
        c4 = Convolution.Dense(weight: s.take("\(p).4.weight", [dim, q, 3, 3]), bias: s.vector("\(p).4.bias", dim))
    }

    func apply(_ x: [Float], height h: Int, width w: Int) -> [Float] {
        var a = c0.apply(x, height: h, width: w)
        a.withUnsafeMutableBufferPointer { Activations.leakyReLU($0.baseAddress!, count: $0.count) }
        var b = c2.apply(a, height: h, width: w)
        b.withUnsafeMutableBufferPointer { Activations.leakyReLU($0.baseAddress!, count: $0.count) }
        return c4.apply(b, height: h, width: w)
    }
}

/// DAT's Adaptive Interaction Module pieces.
/// channel_interaction: AvgPool → Conv1×1(C→C/8) → BN → GELU → Conv1×1(C/8→C), one value per channel.
/// spatial_interaction: Conv1×1(C→C/16) → BN → GELU → Conv1×1(C/16→1), one value per token.
struct InteractionGates {
    let ci1: Convolution.Dense, ciBN: BatchNormEval, ci4: Convolution.Dense
    let si0: Convolution.Dense, siBN: BatchNormEval, si3: Convolution.Dense

    init(_ s: WeightStore, _ p: String, dim: Int) {
        let c8 = dim / 8, c16 = dim / 16
        ci1 = Convolution.Dense(weight: s.take("\(p).channel_interaction.1.weight", [c8, dim, 1, 1]),
                                bias: s.vector("\(p).channel_interaction.1.bias", c8))
        ciBN = BatchNormEval(weight: s.vector("\(p).channel_interaction.2.weight", c8),
                             bias: s.vector("\(p).channel_interaction.2.bias", c8),
                             runningMean: s.vector("\(p).channel_interaction.2.running_mean", c8),
                             runningVar: s.vector("\(p).channel_interaction.2.running_var", c8))
        ci4 = Convolution.Dense(weight: s.take("\(p).channel_interaction.4.weight", [dim, c8, 1, 1]),
                                bias: s.vector("\(p).channel_interaction.4.bias", dim))
        si0 = Convolution.Dense(weight: s.take("\(p).spatial_interaction.0.weight", [c16, dim, 1, 1]),
                                bias: s.vector("\(p).spatial_interaction.0.bias", c16))
        siBN = BatchNormEval(weight: s.vector("\(p).spatial_interaction.1.weight", c16),
                             bias: s.vector("\(p).spatial_interaction.1.bias", c16),
                             runningMean: s.vector("\(p).spatial_interaction.1.running_mean", c16),
                             runningVar: s.vector("\(p).spatial_interaction.1.running_var", c16))
        si3 = Convolution.Dense(weight: s.take("\(p).spatial_interaction.3.weight", [1, c16, 1, 1]),
                                bias: s.vector("\(p).spatial_interaction.3.bias", 1))
    }

    /// sigmoid(channel_interaction(x)) for x (L × C): C values.
    func channelGate(_ x: [Float], tokens L: Int) -> [Float] {
        let C = ci1.inChannels
        var pooled = ChannelOps.columnMeans(x, rows: L, cols: C)
        var a = ci1.apply(pooled, height: 1, width: 1)
        a.withUnsafeMutableBufferPointer { ciBN.apply($0.baseAddress!, rows: 1); ck_gelu($0.baseAddress!, $0.count) }
        pooled = ci4.apply(a, height: 1, width: 1)
        return pooled.map(Activations.sigmoid)
    }

    /// sigmoid(spatial_interaction(x)) for x (L × C): L values.
    func spatialGate(_ x: [Float], tokens L: Int) -> [Float] {
        var a = si0.apply(x, height: 1, width: L)
        a.withUnsafeMutableBufferPointer {
            siBN.apply($0.baseAddress!, rows: L)
            Activations.gelu($0.baseAddress!, count: $0.count)
        }
        var s = si3.apply(a, height: 1, width: L)
        s.withUnsafeMutableBufferPointer { p in
            let b = p.baseAddress!
            Parallel.elementwise(p.count) { r in for i in r { b[i] = Activations.sigmoid(b[i]) } }
        }
        return s
    }
}

/// dwconv: depthwise 3×3 → BatchNorm (eval) → GELU, channels-last.
struct DepthwiseBNGELU {
    let conv: Convolution.Depthwise
    let bn: BatchNormEval

    init(_ s: WeightStore, _ p: String, dim: Int) {
        conv = Convolution.Depthwise(weight: s.take("\(p).0.weight", [dim, 1, 3, 3]), bias: s.vector("\(p).0.bias", dim))
        bn = BatchNormEval(weight: s.vector("\(p).1.weight", dim), bias: s.vector("\(p).1.bias", dim),
                           runningMean: s.vector("\(p).1.running_mean", dim),
                           runningVar: s.vector("\(p).1.running_var", dim))
    }

    /// Input: rows of stride `ld` (e.g. the v columns of a qkv matrix).
    func apply(_ x: UnsafePointer<Float>, ld: Int, height h: Int, width w: Int) -> [Float] {
        var out = [Float](repeating: 0, count: h * w * conv.channels)
        out.withUnsafeMutableBufferPointer { o in
            conv.apply(x, inputStride: ld, height: h, width: w, into: o.baseAddress!)
            bn.apply(o.baseAddress!, rows: h * w)
            Activations.gelu(o.baseAddress!, count: o.count)
        }
        return out
    }
}

/// DynamicPosBias (residual = false): pos3(pos2(pos1(pos_proj(rpe_biases)))), each posK =
/// LayerNorm → ReLU → Linear; returns the table (entries × heads) indexed by relative position.
enum DynamicPosBias {
    static func table(_ s: WeightStore, _ p: String, posDim: Int, heads: Int, entries: Int) -> [Float] {
        let rpe = s.take("\(p).rpe_biases", [entries, 2]).data
        func linear(_ x: [Float], _ key: String, _ i: Int, _ o: Int) -> [Float] {
            let w = s.take("\(key).weight", [o, i]).data, b = s.vector("\(key).bias", o)
            let rows = x.count / i
            var y = [Float](repeating: 0, count: rows * o)
            for r in 0..<rows { for j in 0..<o {
                var acc = b[j]
                for t in 0..<i { acc += x[r * i + t] * w[j * i + t] }
                y[r * o + j] = acc
            }}
            return y
        }
        func lnReluLinear(_ x: [Float], _ key: String, out o: Int) -> [Float] {
            let ln = LayerNorm(weight: s.vector("\(key).0.weight", posDim), bias: s.vector("\(key).0.bias", posDim))
            let y = ln.apply(x).map { max($0, 0) }
            return linear(y, "\(key).2", posDim, o)
        }
        var pos = linear(rpe, "\(p).pos.pos_proj", 2, posDim)
        pos = lnReluLinear(pos, "\(p).pos.pos1", out: posDim)
        pos = lnReluLinear(pos, "\(p).pos.pos2", out: posDim)
        return lnReluLinear(pos, "\(p).pos.pos3", out: heads)
    }

    /// heads × N × N bias for an hH × wW window: index (Δh + hH − 1)·(2wW − 1) + (Δw + wW − 1).
    static func expand(table: [Float], heads: Int, windowH hH: Int, windowW wW: Int) -> [Float] {
        let N = hH * wW
        var out = [Float](repeating: 0, count: heads * N * N)
        for i in 0..<N { for j in 0..<N {
            let idx = (i / wW - j / wW + hH - 1) * (2 * wW - 1) + (i % wW - j % wW + wW - 1)
            for h in 0..<heads { out[(h * N + i) * N + j] = table[idx * heads + h] }
        }}
        return out
    }
}

import CKernels
import Foundation

/// LayerNorm over the last axis (rows of a token matrix) and BatchNorm in eval mode.
public struct LayerNorm: Sendable {
    public let weight: [Float]
    public let bias: [Float]
    public let eps: Float

    public init(weight: [Float], bias: [Float], eps: Float = 1e-5) {
        precondition(weight.count == bias.count)
        self.weight = weight; self.bias = bias; self.eps = eps
    }

    public var features: Int { weight.count }

    /// out[r, :] = (x[r, :] − mean) / sqrt(var + eps) · weight + bias (biased variance).
    /// `input` rows have stride `inStride`; `out` rows are dense. `input` may equal `out` when strides match.
    public func apply(_ input: UnsafePointer<Float>, inStride: Int? = nil, rows: Int,
                      into out: UnsafeMutablePointer<Float>) {
        let C = features, ld = inStride ?? C
        weight.withUnsafeBufferPointer { gp in bias.withUnsafeBufferPointer { bp in
            let g = gp.baseAddress!, b = bp.baseAddress!
            Parallel.ranges(rows, minPerChunk: 2048) { rr in
                ck_layernorm_rows(input + rr.lowerBound * ld, Int32(ld), Int32(rr.count), Int32(C), g, b, eps,
                                  out + rr.lowerBound * C, Int32(C))
            }
        }}
    }

    public func apply(_ x: [Float]) -> [Float] {
        var out = Buffer.uninitialized(x.count)
        x.withUnsafeBufferPointer { i in out.withUnsafeMutableBufferPointer { o in
            apply(i.baseAddress!, rows: x.count / features, into: o.baseAddress!) } }
        return out
    }

    /// Slow reference in Double.
    public func reference(_ x: [Float]) -> [Float] {
        let C = features
        var out = [Float](repeating: 0, count: x.count)
        for r in 0..<(x.count / C) {
            let row = (0..<C).map { Double(x[r * C + $0]) }
            let mean = row.reduce(0, +) / Double(C)
            let v = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(C)
            for c in 0..<C { out[r * C + c] = Float((row[c] - mean) / (v + Double(eps)).squareRoot() * Double(weight[c]) + Double(bias[c])) }
        }
        return out
    }
}

/// BatchNorm2d in eval mode: y = (x − running_mean) / sqrt(running_var + eps) · weight + bias,
/// folded into one scale and shift per channel (channels-last data).
public struct BatchNormEval: Sendable {
    public let scale: [Float]
    public let shift: [Float]

    public init(weight: [Float], bias: [Float], runningMean: [Float], runningVar: [Float], eps: Float = 1e-5) {
        var s = [Float](repeating: 0, count: weight.count), t = s
        for c in 0..<weight.count {
            let inv = Float(1 / (Double(runningVar[c]) + Double(eps)).squareRoot())
            s[c] = weight[c] * inv
            t[c] = bias[c] - runningMean[c] * s[c]
        }
        scale = s; shift = t
    }

    public func apply(_ x: UnsafeMutablePointer<Float>, rows: Int) {
        let C = scale.count
        scale.withUnsafeBufferPointer { sp in shift.withUnsafeBufferPointer { tp in
            let s = sp.baseAddress!, t = tp.baseAddress!
            for r in 0..<rows { let p = x + r * C; for c in 0..<C { p[c] = p[c] * s[c] + t[c] } }
        }}
    }
}

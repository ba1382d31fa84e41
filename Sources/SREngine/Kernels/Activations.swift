import CKernels
import Foundation

/// Pointwise activations and softmax. Fast versions call the vectorised C kernels; each has a
/// plain libm reference beside it.
public enum Activations {
    /// Exact-form GELU, 0.5·x·(1 + erf(x/√2)), in place.
    public static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        if count >= 1 << 16 {
            Parallel.ranges(count, minPerChunk: 1 << 15, align: 16) { r in ck_gelu(x + r.lowerBound, r.count) }
        } else {
            ck_gelu(x, count)
        }
    }

    public static func gelu(_ x: [Float]) -> [Float] {
        var y = x
        y.withUnsafeMutableBufferPointer { gelu($0.baseAddress!, count: $0.count) }
        return y
    }

    /// Reference GELU through libm's erf in Double.
    public static func geluReference(_ x: Float) -> Float {
        let d = Double(x)
        return Float(0.5 * d * (1 + erf(d / 2.0.squareRoot())))
    }

    /// LeakyReLU with slope `slope` for x < 0, in place.
    public static func leakyReLU(_ x: UnsafeMutablePointer<Float>, count: Int, slope: Float = 0.2) {
        for i in 0..<count { let v = x[i]; x[i] = v < 0 ? v * slope : v }
    }

    /// Logistic sigmoid 1 / (1 + e^−x).
    @inline(__always)
    public static func sigmoid(_ x: Float) -> Float { 1 / (1 + Foundation.exp(-x)) }

    /// Row softmax in place: `rows` rows of `cols` values, row stride `ld`.
    public static func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int? = nil) {
        ck_softmax_rows(x, nil, Int32(rows), Int32(cols), Int32(ld ?? cols))
    }

    public static func softmaxRows(_ x: [Float], rows: Int, cols: Int) -> [Float] {
        var y = x
        y.withUnsafeMutableBufferPointer { softmaxRows($0.baseAddress!, rows: rows, cols: cols) }
        return y
    }

    /// Reference softmax in Double (max-subtracted).
    public static func softmaxRowsReference(_ x: [Float], rows: Int, cols: Int) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)
        for r in 0..<rows {
            let row = (0..<cols).map { Double(x[r * cols + $0]) }
            let m = row.max() ?? 0
            let e = row.map { Foundation.exp($0 - m) }
            let s = e.reduce(0, +)
            for c in 0..<cols { out[r * cols + c] = Float(e[c] / s) }
        }
        return out
    }
}

/// PixelShuffle(s) from channels-last (H×W×C·s²) to NCHW (C, H·s, W·s):
/// out[c, h·s+i, w·s+j] = in[h, w, c·s² + i·s + j].
public enum PixelShuffle {
    public static func toNCHW(_ input: [Float], height h: Int, width w: Int, outChannels c: Int, scale s: Int) -> [Float] {
        let cin = c * s * s, H = h * s, W = w * s
        precondition(input.count == h * w * cin)
        var out = [Float](repeating: 0, count: c * H * W)
        for y in 0..<h { for x in 0..<w {
            let base = (y * w + x) * cin
            for ch in 0..<c { for i in 0..<s { for j in 0..<s {
                out[(ch * H + y * s + i) * W + x * s + j] = input[base + ch * s * s + i * s + j]
            }}}
        }}
        return out
    }
}

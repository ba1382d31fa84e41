/// Backward of the data-movement and averaging ops: pixel shuffle (an inverse permutation), global average
/// pooling over tokens (a broadcast of g/L) and residual adds (the gradient flows unchanged to both operands).
public enum PixelShuffleBackward {
    /// From dOut (NCHW, c × h·s × w·s) to d(input) channels-last (h·w × c·s²): the inverse of `PixelShuffle.toNCHW`.
    public static func backward(_ dOut: [Float], height h: Int, width w: Int, outChannels c: Int, scale s: Int) -> [Float] {
        let cin = c * s * s, H = h * s, W = w * s
        precondition(dOut.count == c * H * W)
        var d = [Float](repeating: 0, count: h * w * cin)
        for y in 0..<h { for x in 0..<w {
            let base = (y * w + x) * cin
            for ch in 0..<c { for i in 0..<s { for j in 0..<s {
                d[base + ch * s * s + i * s + j] = dOut[(ch * H + y * s + i) * W + x * s + j]
            }}}
        }}
        return d
    }
}

public enum AveragePoolBackward {
    /// Global average pool of a tokens × C map (one mean per channel): dx[l, c] = g[c] / L.
    public static func backward(_ g: [Float], tokens L: Int) -> [Float] {
        let C = g.count
        var dx = [Float](repeating: 0, count: L * C)
        let inv = g.map { $0 / Float(L) }
        dx.withUnsafeMutableBufferPointer { p in
            let b = p.baseAddress!
            Parallel.ranges(L, minPerChunk: 1024) { r in for l in r { for c in 0..<C { b[l * C + c] = inv[c] } } }
        }
        return dx
    }

    public static func referenceForward(_ x: [Double], tokens L: Int, channels C: Int) -> [Double] {
        (0..<C).map { c in (0..<L).reduce(0.0) { $0 + x[$1 * C + c] } / Double(L) }
    }
}

public enum ResidualBackward {
    /// y = a + b: dL/da = dL/db = dL/dy. Adds g into the gradient of an operand that already holds others.
    public static func accumulate(_ g: [Float], into d: inout [Float]) {
        precondition(g.count == d.count)
        g.withUnsafeBufferPointer { gp in d.withUnsafeMutableBufferPointer { dp in
            BackwardReduce.add(gp.baseAddress!, into: dp.baseAddress!, count: g.count)
        }}
    }
}

import SRIO

/// Backward of a dense k×k convolution (k = 1 or 3, stride 1, zero padding k/2) on channels-last maps,
/// weight in PyTorch layout (Cout, Cin, k, k).
///
/// dX is the transposed convolution, i.e. a forward convolution of dY with the spatially flipped,
/// in/out-swapped weight (run by the engine's `Convolution.Dense`); dW = dYᵀ·im2col(X) through the GEMM over
/// fixed 4096-row chunks taken in order (results do not depend on the thread count); db = Σ dY.
public final class DenseConvBackward: @unchecked Sendable {
    public let inChannels: Int, outChannels: Int, kernel: Int
    /// (Cout, Cin, k, k) as given.
    public let weight: [Float]
    private let transposed: Convolution.Dense
    static let chunk = 4096

    public init(weight: Tensor) {
        precondition(weight.rank == 4 && weight.shape[2] == weight.shape[3] && (weight.shape[2] == 1 || weight.shape[2] == 3))
        outChannels = weight.shape[0]; inChannels = weight.shape[1]; kernel = weight.shape[2]
        self.weight = weight.data
        let k = kernel, kk = k * k, ci = inChannels, co = outChannels
        var flipped = [Float](repeating: 0, count: ci * co * kk)
        for o in 0..<co { for i in 0..<ci { for t in 0..<kk {
            flipped[(i * co + o) * kk + (kk - 1 - t)] = weight.data[(o * ci + i) * kk + t]
        }}}
        transposed = Convolution.Dense(weight: Tensor(shape: [ci, co, k, k], data: flipped),
                                       bias: [Float](repeating: 0, count: ci))
    }

    /// dx (L × Cin, overwritten) from dy (L × Cout).
    public func inputGradient(_ dy: UnsafePointer<Float>, height h: Int, width w: Int, into dx: UnsafeMutablePointer<Float>) {
        transposed.apply(dy, height: h, width: w, into: dx)
    }

    /// dW (PyTorch layout) += Σ dY ⊗ patches(X); db += Σ dY. x: L × Cin, dy: L × Cout.
    public func parameterGradients(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, height h: Int, width w: Int,
                                   dW: UnsafeMutablePointer<Float>?, db: UnsafeMutablePointer<Float>?) {
        let L = h * w, ci = inChannels, co = outChannels, k = kernel, kk = k * k, K = kk * ci
        if let db { BackwardReduce.addColumnSums(dy, ld: co, rows: L, cols: co, into: db) }
        guard let dW else { return }
        let acc = UnsafeMutablePointer<Float>.allocate(capacity: co * K)
        acc.initialize(repeating: 0, count: co * K)
        let n = min(L, Self.chunk)
        let cols = UnsafeMutablePointer<Float>.allocate(capacity: n * K)
        let t = UnsafeMutablePointer<Float>.allocate(capacity: co * n)
        defer { acc.deallocate(); cols.deallocate(); t.deallocate() }
        var lo = 0
        while lo < L {
            let hi = min(L, lo + Self.chunk), m = hi - lo
            let src: UnsafePointer<Float>
            if k == 1 { src = x + lo * ci } else {
                Self.im2col(x, ci, h, w, rows: lo..<hi, into: cols)
                src = UnsafePointer(cols)
            }
            BackwardReduce.transpose(dy + lo * co, ld: co, rows: m, cols: co, into: t)
            GEMM.multiply(m: co, n: K, k: m, a: t, lda: m, b: src, ldb: K, transB: false, c: acc, ldc: K, accumulate: true)
            lo = hi
        }
        // acc[o][(t·Cin + i)] → dW[o][i][t]
        for o in 0..<co { for i in 0..<ci { for tt in 0..<kk { dW[(o * ci + i) * kk + tt] += acc[o * K + tt * ci + i] } } }
    }

    /// 3×3 patches of rows `r` (token indices) into cols (row-major, 9·Cin per token, tap-major), zero outside.
    static func im2col(_ x: UnsafePointer<Float>, _ cin: Int, _ h: Int, _ w: Int, rows r: Range<Int>, into buf: UnsafeMutablePointer<Float>) {
        let K = 9 * cin
        Parallel.ranges(r.count, minPerChunk: 256) { sub in
            for j in sub {
                let l = r.lowerBound + j, y = l / w, xx0 = l % w
                let row = buf + j * K
                for ky in 0..<3 { for kx in 0..<3 {
                    let yy = y + ky - 1, xx = xx0 + kx - 1
                    let dst = row + (ky * 3 + kx) * cin
                    if yy < 0 || yy >= h || xx < 0 || xx >= w { dst.update(repeating: 0, count: cin) }
                    else { dst.update(from: x + (yy * w + xx) * cin, count: cin) }
                }}
            }
        }
    }

    // MARK: - Float64 reference (direct loops)

    public static func referenceForward(x: [Double], weight: [Double], bias: [Double], cin: Int, cout: Int, k: Int,
                                        height h: Int, width w: Int) -> [Double] {
        var y = [Double](repeating: 0, count: h * w * cout)
        let r = k / 2
        for py in 0..<h { for px in 0..<w { for o in 0..<cout {
            var s = bias[o]
            for ky in 0..<k { for kx in 0..<k {
                let yy = py + ky - r, xx = px + kx - r
                guard yy >= 0, yy < h, xx >= 0, xx < w else { continue }
                for i in 0..<cin { s += x[(yy * w + xx) * cin + i] * weight[((o * cin + i) * k + ky) * k + kx] }
            }}
            y[(py * w + px) * cout + o] = s
        }}}
        return y
    }

    public static func reference(x: [Double], dy: [Double], weight: [Double], cin: Int, cout: Int, k: Int,
                                 height h: Int, width w: Int) -> (dx: [Double], dW: [Double], db: [Double]) {
        var dx = [Double](repeating: 0, count: h * w * cin), dW = [Double](repeating: 0, count: weight.count)
        var db = [Double](repeating: 0, count: cout)
        let r = k / 2
        for py in 0..<h { for px in 0..<w { for o in 0..<cout {
            let g = dy[(py * w + px) * cout + o]
            db[o] += g
            for ky in 0..<k { for kx in 0..<k {
                let yy = py + ky - r, xx = px + kx - r
                guard yy >= 0, yy < h, xx >= 0, xx < w else { continue }
                for i in 0..<cin {
                    let wi = ((o * cin + i) * k + ky) * k + kx, xi = (yy * w + xx) * cin + i
                    dx[xi] += g * weight[wi]
                    dW[wi] += g * x[xi]
                }
            }}
        }}}
        return (dx, dW, db)
    }
}

/// Backward of the depthwise 3×3 convolution (groups = C, padding 1), channels-last, weight (C, 1, 3, 3).
public final class DepthwiseConvBackward: @unchecked Sendable {
    public let channels: Int
    public let weight: [Float]
    private let flipped: Convolution.Depthwise

    public init(weight: Tensor) {
        precondition(weight.rank == 4 && weight.shape[1] == 1 && weight.shape[2] == 3 && weight.shape[3] == 3)
        channels = weight.shape[0]
        self.weight = weight.data
        var f = [Float](repeating: 0, count: weight.count)
        for c in 0..<channels { for t in 0..<9 { f[c * 9 + 8 - t] = weight.data[c * 9 + t] } }
        flipped = Convolution.Depthwise(weight: Tensor(shape: weight.shape, data: f),
                                        bias: [Float](repeating: 0, count: channels))
    }

    /// dx (L × C dense, overwritten) from dy (L × C).
    public func inputGradient(_ dy: UnsafePointer<Float>, height h: Int, width w: Int, into dx: UnsafeMutablePointer<Float>) {
        flipped.apply(dy, height: h, width: w, into: dx)
    }

    /// dW (C, 1, 3, 3) += Σ dY·shifted X; db += Σ dY. x rows have stride ldx.
    public func parameterGradients(x: UnsafePointer<Float>, ldx: Int, dy: UnsafePointer<Float>, height h: Int, width w: Int,
                                   dW: UnsafeMutablePointer<Float>?, db: UnsafeMutablePointer<Float>?) {
        let C = channels, L = h * w
        if let db { BackwardReduce.addColumnSums(dy, ld: C, rows: L, cols: C, into: db) }
        guard let dW else { return }
        var acc = [Float](repeating: 0, count: 9 * C)   // tap-major
        acc.withUnsafeMutableBufferPointer { ap in
            BackwardReduce.columnSums(rows: L, cols: 9 * C, into: ap.baseAddress!) { l, p in
                let y = l / w, x0 = l % w, g = dy + l * C
                for ky in 0..<3 { let yy = y + ky - 1; guard yy >= 0, yy < h else { continue }
                    for kx in 0..<3 { let xx = x0 + kx - 1; guard xx >= 0, xx < w else { continue }
                        let src = x + (yy * w + xx) * ldx, o = p + (ky * 3 + kx) * C
                        for c in 0..<C { o[c] += g[c] * src[c] }
                    }
                }
            }
        }
        for c in 0..<C { for t in 0..<9 { dW[c * 9 + t] += acc[t * C + c] } }
    }

    // MARK: - Float64 reference

    public static func referenceForward(x: [Double], weight: [Double], bias: [Double], channels C: Int, height h: Int, width w: Int) -> [Double] {
        var y = [Double](repeating: 0, count: h * w * C)
        for py in 0..<h { for px in 0..<w { for c in 0..<C {
            var s = bias[c]
            for ky in 0..<3 { for kx in 0..<3 {
                let yy = py + ky - 1, xx = px + kx - 1
                guard yy >= 0, yy < h, xx >= 0, xx < w else { continue }
                s += weight[c * 9 + ky * 3 + kx] * x[(yy * w + xx) * C + c]
            }}
            y[(py * w + px) * C + c] = s
        }}}
        return y
    }

    public static func reference(x: [Double], dy: [Double], weight: [Double], channels C: Int, height h: Int, width w: Int)
        -> (dx: [Double], dW: [Double], db: [Double]) {
        var dx = [Double](repeating: 0, count: x.count), dW = [Double](repeating: 0, count: 9 * C), db = [Double](repeating: 0, count: C)
        for py in 0..<h { for px in 0..<w { for c in 0..<C {
            let g = dy[(py * w + px) * C + c]
            db[c] += g
            for ky in 0..<3 { for kx in 0..<3 {
                let yy = py + ky - 1, xx = px + kx - 1
                guard yy >= 0, yy < h, xx >= 0, xx < w else { continue }
                dx[(yy * w + xx) * C + c] += g * weight[c * 9 + ky * 3 + kx]
                dW[c * 9 + ky * 3 + kx] += g * x[(yy * w + xx) * C + c]
            }}
        }}}
        return (dx, dW, db)
    }
}

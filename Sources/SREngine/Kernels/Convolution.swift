import CKernels
import SRIO

/// Convolutions on channels-last feature maps (H×W×C row-major, i.e. the token matrix L×C with
/// token l = h·W + w). Weights arrive in PyTorch layout (Cout, Cin/groups, kh, kw).
public enum Convolution {
    /// A dense 3×3 (padding 1, stride 1) or 1×1 convolution prepared for im2col + GEMM.
    public final class Dense: @unchecked Sendable {
        public let inChannels: Int
        public let outChannels: Int
        public let kernel: Int  // 1 or 3
        public let bias: [Float]
        let packed: GEMM.Packed
        /// Weights reordered to (ky, kx, ci) × co for the reference path.
        let columns: [Float]

        /// `weight`: PyTorch (Cout, Cin, k, k); `bias`: Cout values.
        public init(weight: Tensor, bias: [Float]) {
            precondition(weight.rank == 4 && weight.shape[2] == weight.shape[3])
            let cout = weight.shape[0], cin = weight.shape[1], k = weight.shape[2]
            precondition(k == 1 || k == 3, "only 1×1 and 3×3 convolutions are supported")
            outChannels = cout
            inChannels = cin
            kernel = k
            self.bias = bias
            let kk = k * k
            var cols = [Float](repeating: 0, count: kk * cin * cout)
            for co in 0..<cout {
                for ci in 0..<cin {
                    for t in 0..<kk {
                        cols[(t * cin + ci) * cout + co] = weight.data[(co * cin + ci) * kk + t]
                    }
                }
            }
            columns = cols
            packed = cols.withUnsafeBufferPointer {
                GEMM.Packed(k: kk * cin, n: cout, b: $0.baseAddress!, ldb: cout, transB: false)
            }
        }

        /// out (H·W × Cout) = conv(input (H·W × Cin)); zero padding.
        public func apply(_ input: UnsafePointer<Float>, height h: Int, width w: Int,
                          into out: UnsafeMutablePointer<Float>) {
            let L = h * w, cin = inChannels, cout = outChannels
            if kernel == 1 {
                bias.withUnsafeBufferPointer {
                    GEMM.multiply(m: L, a: input, lda: cin, packed: packed, c: out, ldc: cout, bias: $0.baseAddress!)
                }
                return
            }
            let K = 9 * cin
            let chunk = 1024
            let nChunks = (L + chunk - 1) / chunk
            Parallel.ranges(nChunks, minPerChunk: 1) { cr in
                let buf = UnsafeMutablePointer<Float>.allocate(capacity: chunk * K)
                defer { buf.deallocate() }
                for ci in cr {
                    let lo = ci * chunk, hi = min(L, lo + chunk)
                    for l in lo..<hi {
                        let y = l / w, x = l % w
                        let row = buf + (l - lo) * K
                        for ky in 0..<3 {
                            let yy = y + ky - 1
                            for kx in 0..<3 {
                                let xx = x + kx - 1
                                let dst = row + (ky * 3 + kx) * cin
                                if yy < 0 || yy >= h || xx < 0 || xx >= w {
                                    dst.update(repeating: 0, count: cin)
                                } else {
                                    dst.update(from: input + (yy * w + xx) * cin, count: cin)
                                }
                            }
                        }
                    }
                    bias.withUnsafeBufferPointer {
                        GEMM.multiply(m: hi - lo, a: buf, lda: K, packed: packed, c: out + lo * cout, ldc: cout,
                                      bias: $0.baseAddress!, parallel: false)
                    }
                }
            }
        }

        /// Array convenience.
        public func apply(_ input: [Float], height h: Int, width w: Int) -> [Float] {
            precondition(input.count == h * w * inChannels)
            var out = Buffer.uninitialized(h * w * outChannels)
            input.withUnsafeBufferPointer { i in out.withUnsafeMutableBufferPointer { o in
                apply(i.baseAddress!, height: h, width: w, into: o.baseAddress!) } }
            return out
        }

        /// Slow reference: direct 7-deep loop with Double accumulation.
        public func reference(_ input: [Float], height h: Int, width w: Int) -> [Float] {
            let cin = inChannels, cout = outChannels, k = kernel, r = k / 2
            var out = [Float](repeating: 0, count: h * w * cout)
            for y in 0..<h { for x in 0..<w { for co in 0..<cout {
                var s = Double(bias[co])
                for ky in 0..<k { for kx in 0..<k {
                    let yy = y + ky - r, xx = x + kx - r
                    if yy < 0 || yy >= h || xx < 0 || xx >= w { continue }
                    for ci in 0..<cin {
                        s += Double(input[(yy * w + xx) * cin + ci]) * Double(columns[((ky * k + kx) * cin + ci) * cout + co])
                    }
                }}
                out[(y * w + x) * cout + co] = Float(s)
            }}}
            return out
        }
    }

    /// Depthwise 3×3 convolution (groups = C, padding 1), channels-last.
    public struct Depthwise: Sendable {
        public let channels: Int
        /// (C, 1, 3, 3) PyTorch weight stored tap-major: taps[t·C + c].
        let taps: [Float]
        public let bias: [Float]

        public init(weight: Tensor, bias: [Float]) {
            precondition(weight.rank == 4 && weight.shape[1] == 1 && weight.shape[2] == 3 && weight.shape[3] == 3)
            channels = weight.shape[0]
            var t = [Float](repeating: 0, count: 9 * channels)
            for c in 0..<channels { for k in 0..<9 { t[k * channels + c] = weight.data[c * 9 + k] } }
            taps = t
            self.bias = bias
        }

        /// out[y,x,c] = bias[c] + Σ w[c,ky,kx]·in[y+ky−1, x+kx−1, c]; input rows may have a stride.
        public func apply(_ input: UnsafePointer<Float>, inputStride: Int? = nil, height h: Int, width w: Int,
                          into out: UnsafeMutablePointer<Float>) {
            let C = channels, ld = inputStride ?? channels
            taps.withUnsafeBufferPointer { tp in bias.withUnsafeBufferPointer { bp in
                let t = tp.baseAddress!, b = bp.baseAddress!
                Parallel.ranges(h, minPerChunk: max(1, 4096 / max(1, w))) { rows in
                    ck_depthwise3x3(input, Int32(ld), Int32(h), Int32(w), Int32(C), t, b, out,
                                    Int32(rows.lowerBound), Int32(rows.upperBound))
                }
            }}
        }

        public func apply(_ input: [Float], height h: Int, width w: Int) -> [Float] {
            var out = Buffer.uninitialized(h * w * channels)
            input.withUnsafeBufferPointer { i in out.withUnsafeMutableBufferPointer { o in
                apply(i.baseAddress!, height: h, width: w, into: o.baseAddress!) } }
            return out
        }

        /// Slow reference in Double, channel-outer loop order.
        public func reference(_ input: [Float], height h: Int, width w: Int) -> [Float] {
            let C = channels
            var out = [Float](repeating: 0, count: h * w * C)
            for c in 0..<C { for y in 0..<h { for x in 0..<w {
                var s = Double(bias[c])
                for ky in 0..<3 { for kx in 0..<3 {
                    let yy = y + ky - 1, xx = x + kx - 1
                    if yy < 0 || yy >= h || xx < 0 || xx >= w { continue }
                    s += Double(taps[(ky * 3 + kx) * C + c]) * Double(input[(yy * w + xx) * C + c])
                }}
                out[(y * w + x) * C + c] = Float(s)
            }}}
            return out
        }
    }
}

import CKernels
import Foundation
import HarmoQ
import Testing

/// `ck_fake_quant_ste_backward` (the dispatched kernel: AVX2 where the CPU has it) against its portable loop
/// `ck_fake_quant_ste_backward_scalar`, bit for bit: dL/dx, and both Float64 bound sums, for affine and symmetric
/// grids, both roundings, lengths 0…40 (every tail length) and 10,007, with x at the bounds, on exact ties and outside.
struct SteBackwardKernelTests {
    @Test func dispatchedKernelEqualsPortableLoopBitForBit() throws {
        var rng = SplitMix64(seed: 17)
        for symmetric in [false, true] { for even in [true, false] { for bits in [2, 4, 8] {
            let q = symmetric ? try Quantizer(bits: bits, lower: -1.5, upper: 1.5, scheme: .symmetric)
                : try Quantizer(bits: bits, lower: -0.7, upper: 2.3, scheme: .affine)
            let levels = Float((1 << bits) - 1)
            let step = (q.upper - q.lower) / levels
            let qmin: Float = symmetric ? -Float(1 << (bits - 1)) : 0, qmax: Float = symmetric ? Float((1 << (bits - 1)) - 1) : levels
            for n in Array(0...40) + [10_007] {
                var x = [Float](repeating: 0, count: n), g = x
                for i in 0..<n {
                    switch rng.below(6) {
                    case 0: x[i] = q.lower
                    case 1: x[i] = q.upper
                    case 2: x[i] = q.lower + (Float(rng.below(Int(levels))) + 0.5) * step   // a tie of the affine grid
                    case 3: x[i] = Float(rng.below(Int(levels))) * step + step / 2          // a tie of the symmetric grid
                    default: x[i] = Float(rng.nextGaussian()) * 2
                    }
                    g[i] = Float(rng.nextGaussian())
                }
                var dxFast = [Float](repeating: .nan, count: n), dxRef = dxFast
                var lf = 0.25, uf = -0.5, lr = 0.25, ur = -0.5
                ck_fake_quant_ste_backward(x, g, &dxFast, n, q.lower, q.upper, step, levels, qmin, qmax,
                                           symmetric ? 1 : 0, even ? 1 : 0, &lf, &uf)
                ck_fake_quant_ste_backward_scalar(x, g, &dxRef, n, q.lower, q.upper, step, levels, qmin, qmax,
                                                  symmetric ? 1 : 0, even ? 1 : 0, &lr, &ur)
                let same = zip(dxFast, dxRef).allSatisfy { $0.bitPattern == $1.bitPattern }
                #expect(same && lf.bitPattern == lr.bitPattern && uf.bitPattern == ur.bitPattern,
                        "symmetric \(symmetric) even \(even) bits \(bits) n \(n): sums \(lf)/\(lr), \(uf)/\(ur) (seed 17)")
            }
        }}}
    }
}

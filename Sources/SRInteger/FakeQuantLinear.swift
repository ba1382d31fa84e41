import HarmoQ
import SRIO
import SREngine

/// The simulated (fake-quant) Linear the integer path must reproduce: x̂ = Q_x(x), Ŵ = Q_w(W),
/// y = x̂·Ŵᵀ + b in Float, computed as the engine's Linear does it (output initialised with b, then
/// `GEMM.multiply(…, accumulate: true)` on Ŵ packed once).
public enum FakeQuantLinear {
    public static func apply(_ x: [Float], rows: Int, weight: PackedLinearWeight, bias: [Float]?,
                             activation: Quantizer, parallel: Bool = false) -> [Float] {
        let xq = activation.fakeQuant(x)
        let packed = GEMM.Packed(transposeOf: weight.dequantized().data, rows: weight.outFeatures, cols: weight.inFeatures)
        return apply(xq, rows: rows, packed: packed, bias: bias, parallel: parallel)
    }

    /// y = a·packed + b, the Float GEMM of the engine (also the FP32 baseline when `a`, `packed` are unquantized).
    public static func apply(_ a: [Float], rows: Int, packed: GEMM.Packed, bias: [Float]?, parallel: Bool = false) -> [Float] {
        let n = packed.n
        var y = [Float](repeating: 0, count: rows * n)
        if let b = bias { for r in 0..<rows { for o in 0..<n { y[r * n + o] = b[o] } } }
        a.withUnsafeBufferPointer { pa in y.withUnsafeMutableBufferPointer { py in
            GEMM.multiply(m: rows, a: pa.baseAddress!, lda: packed.k, packed: packed, c: py.baseAddress!, ldc: n,
                          accumulate: true, parallel: parallel)
        } }
        return y
    }
}

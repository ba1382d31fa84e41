import HarmoQ

/// One exact operand product of an attention call: C = fl(scale·(S + 0)), S = Σ ca·cb from the codes (docs/integer.md).
struct OperandProduct {
    let a: Quantizer, b: Quantizer
    /// fl(Δa·Δb).
    let scale: Float
    let aRange: ClosedRange<Int32>, bRange: ClosedRange<Int32>
    /// nil: the engine's float GEMM on the codes.
    let kernel: OperandProductExecutor.Kernel?

    init(_ a: Quantizer, _ b: Quantizer, kernel: OperandProductExecutor.Kernel?) {
        self.a = a
        self.b = b
        scale = a.step * b.step
        aRange = a.centredCodeMin...a.centredCodeMax
        bRange = b.centredCodeMin...b.centredCodeMax
        self.kernel = kernel
    }
}

/// The decisions of one window-attention call (q·kᵀ with k = head dim, P·V with k = window tokens; static bounds):
/// on the exact path q, k (resp. v) are replaced by their codes in place; on the float path by Q(x) in place, and
/// `probsFloatPath` tells `scatter` to fake-quantize the probabilities. Logged on the executor.
struct OperandProducts {
    var qk: OperandProduct?
    var pv: OperandProduct?
    var probsFloatPath: Quantizer?

    init(table: SiteTable, q qSite: Int, k kSite: Int, v vSite: Int, probs pSite: Int,
         q: UnsafeMutablePointer<Float>, k: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, count: Int,
         tokens n: Int, headDim hd: Int) {
        guard let ox = table.operandExecutor else { return }
        let sq = table.sites[qSite], sk = table.sites[kSite], sv = table.sites[vSite], sp = table.sites[pSite]
        if let (qq, kq) = ox.pair(sq, sk) {
            let bound = OperandProductExecutor.staticBound(qq, kq, k: hd)
            if bound <= OperandProductExecutor.exactLimit {
                OperandCodes.codesInPlace(qq, q, count: count)
                OperandCodes.codesInPlace(kq, k, count: count)
                qk = OperandProduct(qq, kq, kernel: ox.kernel)
                ox.note(sq, sk, exact: true)
            } else {
                BulkQuantization.fakeQuantInPlace(qq, UnsafeMutableBufferPointer(start: q, count: count))
                BulkQuantization.fakeQuantInPlace(kq, UnsafeMutableBufferPointer(start: k, count: count))
                ox.note(sq, sk, exact: false, reason: "partial sums up to \(bound) > 2^24")
            }
        }
        if let (pq, vq) = ox.pair(sp, sv) {
            let bound = OperandProductExecutor.staticBound(pq, vq, k: n)
            if bound <= OperandProductExecutor.exactLimit {
                OperandCodes.codesInPlace(vq, v, count: count)
                pv = OperandProduct(pq, vq, kernel: ox.kernel)
                ox.note(sp, sv, exact: true)
            } else {
                BulkQuantization.fakeQuantInPlace(vq, UnsafeMutableBufferPointer(start: v, count: count))
                probsFloatPath = pq
                ox.note(sp, sv, exact: false, reason: "partial sums up to \(bound) > 2^24")
            }
        }
    }
}

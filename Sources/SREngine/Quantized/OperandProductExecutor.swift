import Foundation
import HarmoQ

/// Runs the attention matmuls whose two operand sites are quantized — q·kᵀ (sites `….q`, `….k`) and P·V (sites
/// `….probs`, `….v`) — exactly in the code domain (docs/integer.md "Integer attention matmuls"):
///
///     C = fl( s · (S + 0) ),   s = fl(Δa · Δb),   S = Σ_p ca[i, p] · cb[p, j]
///
/// with ca, cb the centred codes of the raw operands under the sites' quantizers. S is computed either by the engine's
/// float GEMM on the codes held as integer-valued Floats (`kernel == nil`: the fake-quant simulation) or by an integer
/// kernel (`kernel`: int8 codes, int32 sums; SRInteger's `IntegerOperandProducts`). Both give the exact integer S while
/// every partial sum is ≤ 2²⁴ in magnitude, so both give the same C bit for bit. The engine checks that bound per call
/// (`exactBound`): the static bound max|ca|·max|cb|·k, or — for the channel-attention Gram, k = tokens — a bound from
/// the actual codes (Cauchy–Schwarz on the column norms). A call beyond it runs the float fake-quant path instead
/// (operands x̂ = Q(x), float GEMM) and is logged with the reason (`report`).
///
/// Installed with `SRModel.operandExecutor`. A fake-quant hook must leave the operand sites this executor `runs` alone
/// (it quantizes them itself); `QuantizedModel` does.
public final class OperandProductExecutor: @unchecked Sendable {
    /// Exact integer product of code matrices, written as Floats: c[i·ldc + j] = Float(Σ_p A(i, p)·B(p, j)) with
    /// A(i, p) = a[i·aRow + p·aCol], B(p, j) = b[p·bRow + j·bCol] integer-valued Floats in the code ranges given.
    public typealias Kernel = (_ m: Int, _ n: Int, _ k: Int,
                               _ a: UnsafePointer<Float>, _ aRow: Int, _ aCol: Int, _ aRange: ClosedRange<Int32>,
                               _ b: UnsafePointer<Float>, _ bRow: Int, _ bCol: Int, _ bRange: ClosedRange<Int32>,
                               _ c: UnsafeMutablePointer<Float>, _ ldc: Int) -> Void

    /// Largest |integer| every Float represents exactly.
    public static let exactLimit: Int64 = 1 << 24

    /// "code domain" (float GEMM on codes) or the integer kernel's name.
    public let path: String
    /// Quantizers of the operand sites this executor runs (both operands of a product, centred grids), by site name.
    public let quantizers: [String: Quantizer]
    /// Operand sites it was offered but does not run, with the reason (they stay in the hook's float path).
    public let declined: [String: String]
    public let kernel: Kernel?

    /// One product's calls by path.
    public struct Record: Sendable, Equatable {
        public var exact = 0
        public var float = 0
        public var reason: String?
    }
    private var records: [String: Record] = [:]
    private let lock = NSLock()

    /// `quantizers`: candidate operand sites by name. A site is run only when it and its partner (q ↔ k, probs ↔ v,
    /// same prefix) are both present with centred grids (symmetric or integer zero point) of at most 8 bits.
    public init(quantizers: [String: Quantizer], path: String = "code domain", kernel: Kernel? = nil) {
        var keep: [String: Quantizer] = [:]
        var no: [String: String] = [:]
        for (name, q) in quantizers {
            guard let partner = Self.partner(of: name) else { no[name] = "not a q, k, v or probs operand"; continue }
            guard q.isCentred else { no[name] = "affine grid with a float zero point (no exact integer form)"; continue }
            guard q.bits <= 8 else { no[name] = "\(q.bits)-bit codes (integer products take at most 8 bits)"; continue }
            guard let p = quantizers[partner], p.isCentred, p.bits <= 8 else {
                no[name] = "its partner \(partner) is not quantized on a centred grid of ≤ 8 bits"; continue
            }
            keep[name] = q
        }
        self.quantizers = keep
        declined = no
        self.path = path
        self.kernel = kernel
    }

    /// The other operand of the product a site enters: q ↔ k, probs ↔ v.
    public static func partner(of name: String) -> String? {
        guard let dot = name.lastIndex(of: ".") else { return nil }
        let stem = name[..<dot], leaf = name[name.index(after: dot)...]
        switch leaf {
        case "q": return stem + ".k"
        case "k": return stem + ".q"
        case "v": return stem + ".probs"
        case "probs": return stem + ".v"
        default: return nil
        }
    }

    /// The same operand quantizers with another way of computing S (e.g. the integer kernel).
    public func with(path: String, kernel: Kernel?) -> OperandProductExecutor {
        OperandProductExecutor(quantizers: quantizers, path: path, kernel: kernel)
    }

    /// True when this executor quantizes `site` itself (a hook must then leave its values alone).
    @inline(__always)
    public func runs(_ site: Site) -> Bool { site.kind == .matmulOperand && quantizers[site.name] != nil }

    /// Quantizers of the product (a, b) when this executor runs it.
    func pair(_ a: Site, _ b: Site) -> (Quantizer, Quantizer)? {
        guard let qa = quantizers[a.name], let qb = quantizers[b.name] else { return nil }
        return (qa, qb)
    }

    /// Calls per product ("<a site>·<b site>"), exact or float path (the latter with the reason).
    public func report() -> [String: Record] { lock.lock(); defer { lock.unlock() }; return records }

    public func resetReport() { lock.lock(); records = [:]; lock.unlock() }

    func note(_ a: Site, _ b: Site, exact: Bool, reason: String? = nil) {
        let key = a.name + "·" + b.name
        lock.lock()
        var r = records[key] ?? Record()
        if exact { r.exact += 1 } else { r.float += 1; r.reason = reason }
        records[key] = r
        lock.unlock()
    }

    /// max |centred code| of a quantizer.
    static func maxCode(_ q: Quantizer) -> Int64 { Swift.max(-Int64(q.centredCodeMin), Int64(q.centredCodeMax)) }

    /// The static bound max|ca|·max|cb|·k on every partial sum of a k-term code product.
    static func staticBound(_ a: Quantizer, _ b: Quantizer, k: Int) -> Int64 { maxCode(a) * maxCode(b) * Int64(k) }

    /// A report per product, one line each, sorted.
    public func text() -> String {
        let r = report()
        var s = "attention matmuls (\(path)): \(quantizers.count) operand sites run, \(declined.count) declined\n"
        for key in r.keys.sorted() {
            let v = r[key]!
            s += "  \(key): \(v.exact) exact (\(path))" + (v.float > 0 ? ", \(v.float) float (\(v.reason ?? ""))" : "") + "\n"
        }
        for key in declined.keys.sorted() { s += "  \(key): declined, \(declined[key]!)\n" }
        return s
    }
}

/// The code-domain pieces the attention code shares.
enum OperandCodes {
    /// In place: values → centred codes (integer-valued Floats).
    /// (Through an L1-sized scratch: the C quantizer's input and output are `restrict`.)
    /// `parallel: false` inside a parallel region (one window).
    static func codesInPlace(_ q: Quantizer, _ p: UnsafeMutablePointer<Float>, count: Int, parallel: Bool = true) {
        guard count > 0 else { return }
        let chunk = 4096, n = (count + chunk - 1) / chunk
        let run: (Range<Int>) -> Void = { r in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: chunk) { t in
                for c in r {
                    let lo = c * chunk, len = Swift.min(chunk, count - lo)
                    BulkQuantization.codes(q, x: p + lo, ldx: len, rows: 1, cols: len, divideBy: nil, into: t.baseAddress!, ldo: len)
                    (p + lo).update(from: t.baseAddress!, count: len)
                }
            }
        }
        if parallel { Parallel.ranges(n, minPerChunk: 8) { run($0) } } else { run(0..<n) }
    }

    /// In place: S → fl(s·(S + 0)) (separate multiply; `+ 0` turns −0 into +0, as int → float does).
    static func rescale(_ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int, scale s: Float) {
        for r in 0..<rows {
            let row = p + r * ld
            for j in 0..<cols { row[j] = s * (row[j] + 0) }
        }
    }

    /// Σ_rows c² per column (codes, exact in Int64), for the data bound of a Gram product.
    static func columnSquares(_ c: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int) -> [Int64] {
        var s = [Int64](repeating: 0, count: cols)
        for r in 0..<rows {
            let row = c + r * ld
            for j in 0..<cols { let v = Int64(row[j]); s[j] += v * v }
        }
        return s
    }

    /// True when max_i ‖a_i‖₂ · max_j ‖b_j‖₂ ≤ 2²⁴ (in integers: the product of the squared norms ≤ 2⁴⁸), which bounds
    /// Σ_p |a_pi·b_pj| and so every partial sum of every Gram entry (Cauchy–Schwarz).
    static func gramExact(_ aSquares: [Int64], _ bSquares: [Int64]) -> Bool {
        let a = aSquares.max() ?? 0, b = bSquares.max() ?? 0
        let (p, overflow) = a.multipliedReportingOverflow(by: b)
        return !overflow && p <= OperandProductExecutor.exactLimit * OperandProductExecutor.exactLimit
    }
}

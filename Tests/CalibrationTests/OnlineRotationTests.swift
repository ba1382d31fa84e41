import Testing
import HarmoQ
import SREngine
@testable import SRCalibration

/// The blocked in-place online rotation (`OnlineRotation.apply`, what `QuantizedModel`'s hook runs) against the
/// whole-buffer GEMM it replaced (bit for bit, any thread count) and against the Float64 `Rotation.rotateRows`
/// reference (scaled error), on row counts that are and are not multiples of the block and of the GEMM's 6-row tile.
@Suite("Online rotation kernel")
struct OnlineRotationTests {
    static func input(rows: Int, order: Int, seed: UInt64) -> [Float] {
        var g = SplitMix64(seed: seed)
        return (0..<(rows * order)).map { i in
            let u = Float(Double(g.next() >> 11) / Double(1 << 53)) * 2 - 1
            return i % 37 == 0 ? 40 * u : u   // a few outliers, as the rotated sites have
        }
    }

    @Test(arguments: [(60, 1), (60, 191), (60, 192), (60, 1000), (120, 385), (12, 7)])
    func blockedEqualsWholeBufferAndReference(order: Int, rows: Int) throws {
        let r = try Rotation.make(kind: .hadamard, order: order, seed: 3)
        let online = OnlineRotation(r)
        let x = Self.input(rows: rows, order: order, seed: UInt64(rows * 131 + order))
        var whole = x
        whole.withUnsafeMutableBufferPointer { online.applyWholeBuffer($0, rows: rows) }
        for threads in [1, 2, 3] {
            var blocked = x
            Parallel.withThreads(threads) {
                blocked.withUnsafeMutableBufferPointer { online.apply($0, rows: rows) }
            }
            #expect(blocked == whole, "order \(order), rows \(rows), threads \(threads): blocked ≠ whole-buffer GEMM")
        }
        // Against the Float64 reference: max |Δ| / (max |x| · n · ε_float), threshold 1 (dot products of length n).
        let ref = r.rotateRows(x, rows: rows)
        let scale = Double(x.map { abs($0) }.max()!) * Double(order) * Double(Float.ulpOfOne)
        let worst = zip(whole, ref).map { abs(Double($0) - Double($1)) }.max()!
        #expect(worst / scale < 1, "order \(order), rows \(rows), seed 3: scaled error \(worst / scale) ≥ 1")
    }
}

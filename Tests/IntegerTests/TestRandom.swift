import HarmoQ
import SRIO

/// Deterministic random codes for kernel tests.
struct CodeSource {
    var rng: SplitMix64
    init(seed: Int) { rng = SplitMix64(seed: UInt64(bitPattern: Int64(seed))) }

    /// Codes in the symmetric `bits` range; with probability 1/4 the extreme −2^(b−1).
    mutating func codes(_ count: Int, bits: Int) -> [Int32] {
        let lo = -(1 << (bits - 1)), span = 1 << bits
        return (0..<count).map { _ in rng.below(4) == 0 ? Int32(lo) : Int32(lo + rng.below(span)) }
    }

    mutating func floats(_ count: Int, scale: Float) -> [Float] {
        (0..<count).map { _ in (Float(rng.below(1 << 24)) / Float(1 << 23) - 1) * scale }
    }
}

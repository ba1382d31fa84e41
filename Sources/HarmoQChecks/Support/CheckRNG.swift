import Foundation
import HarmoQ

/// Seeded generator for checkers: the core's SplitMix64 started one increment past `seed` (the stream the
/// recorded checker results use), so every case is reproducible from the seed printed on its line.
public struct CheckRNG: RandomNumberGenerator, Sendable {
    private var base: SplitMix64
    public init(seed: UInt64) { base = SplitMix64(seed: seed &+ 0x9E37_79B9_7F4A_7C15) }
    public mutating func next() -> UInt64 { base.next() }
    /// Uniform in [0, 1).
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }
    /// Standard normal (Box–Muller).
    public mutating func gaussian() -> Double {
        var u = uniform(); while u <= 0 { u = uniform() }
        return (-2 * Foundation.log(u)).squareRoot() * cos(2 * Double.pi * uniform())
    }
    /// Student-t with ν degrees of freedom (heavy tails for ν ≤ 4).
    public mutating func studentT(_ nu: Int) -> Double {
        var chi = 0.0
        for _ in 0..<nu { let g = gaussian(); chi += g * g }
        return gaussian() / (chi / Double(nu)).squareRoot()
    }
}

/// Seed shown on report lines.
func seedText(_ s: UInt64) -> String { "0x" + String(s, radix: 16, uppercase: true) }

import HarmoQ

/// **Test seam.** Deliberately wrong lines in the set-up of integer execution's epilogue (`IntegerLinear.init`, which
/// computes what the C epilogue applies: y = fl(Δx·Δw[o])·(Σ_p cw·a + off[o]) + b[o]), so that a test can show that the
/// tests of integer execution catch a wrong epilogue in the code that ships (`EpilogueMutantTests`, Proofs/README
/// "Mutation table"). The same switch as `HarmoQ.ShippedMutant` (`MutantSwitch`): off (`.none`) unless `withActive` is running, visible
/// only on the activating thread, activations serialised; `IntegerLinear.init` reads it once per site.
public enum IntegerEpilogueMutant: UInt8, CaseIterable, Sendable {
    case none = 0
    case zeroPointTermSignFlipped
    case zeroPointTermDropped
    case outputScaleWithoutActivationStep
    case biasDropped

    /// What the wrong line does.
    public var summary: String {
        switch self {
        case .none: return "the shipped code"
        case .zeroPointTermSignFlipped: return "zero-point term off[o] = (z − 2^(b−1))·Σcw instead of (2^(b−1) − z)·Σcw"
        case .zeroPointTermDropped: return "zero-point term off[o] not folded in (0)"
        case .outputScaleWithoutActivationStep: return "output scale Δw[o] instead of Δx·Δw[o]"
        case .biasDropped: return "bias not added"
        }
    }

    private static let mutantSwitch = MutantSwitch()

    /// The mutant active on this thread (`.none` unless inside `withActive` on this thread).
    public static var active: IntegerEpilogueMutant {
        let raw = mutantSwitch.active
        return raw == 0 ? .none : (IntegerEpilogueMutant(rawValue: raw) ?? .none)
    }

    /// Runs `body` with `mutant` active on the calling thread, then switches it off. For tests only.
    public static func withActive<T>(_ mutant: IntegerEpilogueMutant, _ body: () throws -> T) rethrows -> T {
        try mutantSwitch.withActive(mutant.rawValue, body)
    }
}

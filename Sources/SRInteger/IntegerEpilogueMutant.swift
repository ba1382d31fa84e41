import Foundation
import Synchronization

/// **Test seam.** Deliberately wrong lines in the set-up of integer execution's epilogue (`IntegerLinear.init`, which
/// computes what the C epilogue applies: y = fl(Δx·Δw[o])·(Σ_p cw·a + off[o]) + b[o]), so that a test can show that the
/// tests of integer execution catch a wrong epilogue in the code that ships (`EpilogueMutantTests`, Proofs/README
/// "Mutation table"). The same rules as `HarmoQ.ShippedMutant`: off (`.none`) unless `withActive` is running, visible
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

    private static let code = Atomic<UInt8>(0)
    private static let owner = Atomic<UInt>(0)
    private static let activation = NSLock()

    static func currentThread() -> UInt {
        #if canImport(Glibc) || canImport(Musl)
        return UInt(pthread_self())
        #else
        return UInt(bitPattern: pthread_self())
        #endif
    }

    /// The mutant active on this thread (`.none` unless inside `withActive` on this thread).
    public static var active: IntegerEpilogueMutant {
        let raw = code.load(ordering: .relaxed)
        if _fastPath(raw == 0) { return .none }
        return owner.load(ordering: .relaxed) == currentThread() ? (IntegerEpilogueMutant(rawValue: raw) ?? .none) : .none
    }

    /// Runs `body` with `mutant` active on the calling thread, then switches it off. For tests only.
    public static func withActive<T>(_ mutant: IntegerEpilogueMutant, _ body: () throws -> T) rethrows -> T {
        activation.lock()
        owner.store(currentThread(), ordering: .sequentiallyConsistent)
        code.store(mutant.rawValue, ordering: .sequentiallyConsistent)
        defer {
            code.store(0, ordering: .sequentiallyConsistent)
            owner.store(0, ordering: .sequentiallyConsistent)
            activation.unlock()
        }
        return try body()
    }
}

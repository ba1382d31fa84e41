import Foundation
import Synchronization

/// The on/off switch behind a test seam of deliberately wrong lines (`ShippedMutant`, SRInteger's
/// `IntegerEpilogueMutant`): a raw mutant code that is 0 (off) unless `withActive` is running, visible only on the
/// thread that activated it (the shipped code on other threads is unaffected), activations from several threads
/// serialised.
public final class MutantSwitch: Sendable {
    private let code = Atomic<UInt8>(0)
    private let owner = Atomic<UInt>(0)
    private let activation = NSLock()

    public init() {}

    @inline(__always) static func currentThread() -> UInt {
        #if canImport(Glibc) || canImport(Musl)
        return UInt(pthread_self())
        #else
        return UInt(bitPattern: pthread_self())
        #endif
    }

    /// The raw code active on this thread (0 unless inside `withActive` on this thread).
    @inline(__always) public var active: UInt8 {
        let raw = code.load(ordering: .relaxed)
        if _fastPath(raw == 0) { return 0 }
        return owner.load(ordering: .relaxed) == Self.currentThread() ? raw : 0
    }

    /// Runs `body` with `raw` active on the calling thread, then switches it off; other activations wait.
    public func withActive<T>(_ raw: UInt8, _ body: () throws -> T) rethrows -> T {
        activation.lock()
        owner.store(Self.currentThread(), ordering: .sequentiallyConsistent)
        code.store(raw, ordering: .sequentiallyConsistent)
        defer {
            code.store(0, ordering: .sequentiallyConsistent)
            owner.store(0, ordering: .sequentiallyConsistent)
            activation.unlock()
        }
        return try body()
    }
}

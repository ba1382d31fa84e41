import Dispatch
import Foundation
import Synchronization

/// Row-block parallelism for the kernels: `DispatchQueue.concurrentPerform` over `chunks` pieces.
public enum Parallel {
    /// Threads used by the kernels: the machine's active cores (at least 1), or `HARMOQ_THREADS`
    /// from the environment; settable (e.g. `harmoq bench --threads 1`, or tests) at any time. Kernel results do
    /// not depend on it (chunk boundaries are aligned and every reduction has a fixed order; tested).
    public static var threads: Int {
        get { configuredThreads.load(ordering: .relaxed) }
        set { configuredThreads.store(max(1, newValue), ordering: .relaxed) }
    }

    /// Atomic so that setting it while kernels run (tests under ThreadSanitizer) is not a data race.
    private static let configuredThreads = Atomic<Int>({
        if let s = ProcessInfo.processInfo.environment["HARMOQ_THREADS"], let n = Int(s), n >= 1 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }())

    /// Runs `body` with `threads` set to `n`, then restores the previous value (tests of thread-count independence).
    public static func withThreads<T>(_ n: Int, _ body: () throws -> T) rethrows -> T {
        let old = threads
        threads = n
        defer { threads = old }
        return try body()
    }

    /// Runs `body(chunk)` for chunk in 0..<count, in parallel when count > 1.
    @inline(__always)
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        if count <= 1 { if count == 1 { body(0) }; return }
        if threads == 1 { for i in 0..<count { body(i) }; return }
        DispatchQueue.concurrentPerform(iterations: count, execute: body)
    }

    /// Splits 0..<n into about `threads`·`oversplit` contiguous ranges (aligned to `align`) and runs them in parallel.
    /// Elementwise pass over n items in parallel chunks of at least 16K items.
    @inline(__always)
    public static func elementwise(_ n: Int, _ body: (Range<Int>) -> Void) {
        ranges(n, minPerChunk: 1 << 14, body)
    }

    public static func ranges(_ n: Int, minPerChunk: Int = 1, align: Int = 1, oversplit: Int = 1,
                              _ body: (Range<Int>) -> Void) {
        guard n > 0 else { return }
        let maxChunks = max(1, n / max(1, minPerChunk))
        let chunks = min(threads * oversplit, maxChunks)
        if chunks <= 1 { body(0..<n); return }
        var per = (n + chunks - 1) / chunks
        per = ((per + align - 1) / align) * align
        let count = (n + per - 1) / per
        forEach(count) { i in
            let lo = i * per
            body(lo..<min(n, lo + per))
        }
    }
}

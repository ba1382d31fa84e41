import CKernels

/// Process-wide allocator setting for long inference runs.
public enum EngineAllocator {
    /// Keeps large (up to 1 GiB) temporaries on the malloc heap instead of fresh mmap'd pages, so
    /// repeated forwards reuse memory rather than page-faulting and zeroing it in every block.
    /// Affects the whole process (glibc `mallopt`); called by the CLI, not by the library.
    public static func preferHeapReuse() { ck_prefer_heap_reuse() }
}

/// Scratch arrays for kernels that overwrite every element (skips zero-filling).
enum Buffer {
    @inline(__always)
    static func uninitialized(_ count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { _, n in n = count }
    }
}

/// Shared driver code for the libFuzzer targets: each target defines `LLVMFuzzerTestOneInput` (which libFuzzer's
/// runtime needs) and `<Target>_main` (SwiftPM's name for an executable's entry), and hands both to these helpers.

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ cb: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

/// Runs libFuzzer's driver with `testOne` as the target.
public func runFuzzer(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                      _ testOne: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt {
    var c = argc
    var v = argv
    return LLVMFuzzerRunDriver(&c, &v, testOne)
}

/// Copies the fuzzer's bytes and calls `body`; any thrown error is the expected outcome of bad input.
@inline(__always)
public func withFuzzBytes(_ data: UnsafePointer<UInt8>, _ size: Int, _ body: ([UInt8]) throws -> Void) -> CInt {
    try? body(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

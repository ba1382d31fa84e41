import SRIO
import FuzzSupport

/// libFuzzer target for PyTorch .pth checkpoints (zip + pickle): any byte string must decode or throw an IOError — never trap, hang or leak.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    withFuzzBytes(data, size) {
        _ = try PyTorchCheckpoint.parse($0)
    }
}

@_cdecl("FuzzPTH_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzOne)
}

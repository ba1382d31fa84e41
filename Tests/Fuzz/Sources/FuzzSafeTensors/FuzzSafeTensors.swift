import SRIO
import FuzzSupport

/// libFuzzer target for safetensors: any byte string must decode or throw an IOError — never trap, hang or leak.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    withFuzzBytes(data, size) {
        let f = try SafeTensors.parse($0)
        for k in f.keys { _ = try? f.tensor(k) }
    }
}

@_cdecl("FuzzSafeTensors_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzOne)
}

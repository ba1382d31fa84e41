import Foundation
import Testing
import SRIO

/// A safetensors image with the given JSON header and `dataBytes` zero bytes of data.
func safetensorsBytes(header: [UInt8], dataBytes: Int, declaredLength: UInt64? = nil) -> [UInt8] {
    var n = declaredLength ?? UInt64(header.count)
    var out: [UInt8] = []
    for _ in 0..<8 { out.append(UInt8(n & 0xFF)); n >>= 8 }
    return out + header + [UInt8](repeating: 0, count: dataBytes)
}

@Test(arguments: [
    (Array(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#.utf8), 8, UInt64(1 << 40), "runs past the end"),
    (Array(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#.utf8), 12, nil, "overlap"),
    (Array(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#.utf8), 4, nil, "outside"),
    (Array(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#.utf8), 8, nil, "needs 12"),
    (Array(#"{"a":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}}"#.utf8), 8, nil, "unsupported dtype"),
    (Array(#"{"a":{"dtype":"F32","shape":[1000000000,1000000000,1000000],"data_offsets":[0,8]}}"#.utf8), 8, nil, "more elements than the file"),
    ([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D], 0, nil, "not a JSON object"),
])
func hostileSafetensorsGiveOneClearError(header: [UInt8], dataBytes: Int, declared: UInt64?, expected: String) {
    let bytes = safetensorsBytes(header: header, dataBytes: dataBytes, declaredLength: declared)
    #expect { _ = try SafeTensors.parse(bytes) } throws: { e in
        guard let io = e as? IOError else { return false }
        return io.message.contains(expected)
    }
}

@Test func safetensorsShortFileIsAnError() {
    #expect(throws: IOError.self) { _ = try SafeTensors.parse([1, 2, 3]) }
}

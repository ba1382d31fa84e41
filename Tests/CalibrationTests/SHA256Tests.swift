import Foundation
import SRCalibration
import SRIO
import Testing

/// SHA-256 against the FIPS 180-4 example vectors, in one piece and streamed in uneven chunks.
@Test func sha256MatchesTheFIPSVectors() {
    let cases: [(String, String)] = [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    ]
    for (text, hex) in cases { #expect(SHA256.hex(Array(text.utf8)) == hex, "'\(text)'") }
    let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
    #expect(SHA256.hex(million) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    // Streaming: chunk sizes around the 64-byte block and the 56-byte padding boundary.
    for chunk in [1, 55, 56, 63, 64, 65, 1000] {
        var h = SHA256()
        var i = 0
        while i < million.count { let j = min(i + chunk, million.count); h.update(Array(million[i..<j])); i = j }
        #expect(h.hexDigest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "chunk \(chunk)")
    }
}

/// The fingerprint's byte layout (documented on `ModelFingerprint`), checked against Python's hashlib on a tiny dict:
/// sorted names, name + 0x00, rank UInt32 LE, dims UInt64 LE, float32 LE values; derived buffers left out.
@Test func modelFingerprintFollowsItsDocumentedLayout() {
    var w: [String: Tensor] = ["b.weight": Tensor(shape: [2, 2], data: [1, -2, 0.5, 3]),
                               "a.bias": Tensor(shape: [3], data: [0.25, -0.0, 7]),
                               "layers.0.attn.relative_position_index": Tensor(shape: [1], data: [5])]
    // python3: hashlib.sha256 over the layout above (see the test's comment) gives this digest.
    let expected = "sha256:fd69c2176fd804951c33e9d1cdc0b235368872917a07967ad37c905fc3633a1f"
    #expect(ModelFingerprint.of(w) == expected)
    w["layers.0.attn.relative_position_index"] = Tensor(shape: [2], data: [9, 9])  // a derived buffer: not fingerprinted
    w["layers.0.blocks.0.attn.attn_mask_0"] = Tensor(shape: [1], data: [-100])
    w["bn.num_batches_tracked"] = Tensor(shape: [], data: [1])
    #expect(ModelFingerprint.of(w) == expected)
    w["a.bias"]!.data[1] = 0.0  // -0.0 → +0.0: one bit
    #expect(ModelFingerprint.of(w) != expected)
    w["a.bias"]!.data[1] = -0.0
    w["b.weight"] = Tensor(shape: [4], data: [1, -2, 0.5, 3])  // same values, other shape
    #expect(ModelFingerprint.of(w) != expected)
}

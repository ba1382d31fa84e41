import Foundation
import Testing
import SRIO
import HarmoQ

/// Seeded byte mutations (flip, overwrite, truncate, duplicate a span) of valid files: every parser
/// must either succeed or throw an `IOError`, never trap. A crash here kills the test process, which
/// the runner reports as a failure. This is a cheap deterministic stand-in for the libFuzzer targets of issue #7.
func mutate(_ base: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
    var b = base
    switch rng.below(4) {
    case 0: for _ in 0..<(1 + rng.below(4)) { let i = rng.below(b.count); b[i] ^= UInt8(1 << rng.below(8)) }
    case 1: for _ in 0..<(1 + rng.below(4)) { b[rng.below(b.count)] = UInt8(truncatingIfNeeded: rng.next()) }
    case 2: b = Array(b.prefix(rng.below(b.count)))
    default:
        let i = rng.below(b.count), n = min(1 + rng.below(64), b.count - i)
        b.insert(contentsOf: b[i..<(i + n)], at: rng.below(b.count))
    }
    return b
}

func countOutcomes(_ base: [UInt8], iterations: Int, seed: UInt64, parse: ([UInt8]) throws -> Void) -> (ok: Int, errors: Int, other: Int) {
    var rng = SplitMix64(seed: seed)
    var ok = 0, errors = 0, other = 0
    for _ in 0..<iterations {
        do { try parse(mutate(base, &rng)); ok += 1 } catch is IOError { errors += 1 } catch { other += 1 }
    }
    return (ok, errors, other)
}

@Test func mutatedCheckpointsNeverCrash() throws {
    let base = [UInt8](try Data(contentsOf: URL(fileURLWithPath: SharedData.fixture("tiny.pth"))))
    let r = countOutcomes(base, iterations: 3000, seed: 0x5EED) { _ = try PyTorchCheckpoint.parse($0) }
    print("tiny.pth mutations: \(r)")
    #expect(r.other == 0)
    #expect(r.errors > 0)
}

@Test func mutatedPicklesNeverCrash() throws {
    let zip = try ZipArchive(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: SharedData.fixture("tiny.pth")))))
    let pkl = try zip.contents(of: zip.member(named: "tiny/data.pkl")!)
    let r = countOutcomes(pkl, iterations: 5000, seed: 0xC0FFEE) { _ = try RestrictedUnpickler.load($0) }
    print("data.pkl mutations: \(r)")
    #expect(r.other == 0)
    #expect(r.errors > 0)
}

@Test func mutatedPNGsAndSafetensorsNeverCrash() throws {
    let png = [UInt8](try Data(contentsOf: URL(fileURLWithPath: SharedData.fixture("palette-3x1.png"))))
    let p = countOutcomes(png, iterations: 3000, seed: 0xBEEF) { _ = try PNGCodec.decode($0) }
    print("png mutations: \(p)")
    #expect(p.other == 0 && p.errors > 0)
    let st = try SafeTensors.serialize(["a": Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6]), "b": Tensor(shape: [], data: [7])])
    let s = countOutcomes(st, iterations: 3000, seed: 0xFACE) { _ = try SafeTensors.parse($0).tensors() }
    print("safetensors mutations: \(s)")
    #expect(s.other == 0 && s.errors > 0)
}

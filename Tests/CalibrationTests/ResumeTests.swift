import Foundation
import HarmoQ
import SRCalibration
import SRIO
import Testing

/// A CI-sized checkpointed run: the first 12 sites of DAT-light ×2, 2 patches, 100 ABR iterations.
func resumeRequest(seed: UInt64 = 5, bits: Int = 4) -> CalibrationRun.Request {
    var o = ModelCalibrationOptions(method: ciHarmoQ(.corrected), weightBits: bits, activationBits: bits)
    o.siteLimit = 12
    o.seed = seed
    var r = CalibrationRun.Request(modelPath: datX2, options: o, sources: [calibrationSource], toolVersion: "test")
    r.patchCount = 2
    r.patchSeed = seed
    return r
}

/// A stop request that turns true at the n-th site (the stand-in for SIGINT in tests).
final class StopAfter: @unchecked Sendable {
    let lock = NSLock()
    var calls = 0
    let n: Int
    init(_ n: Int) { self.n = n }
    func callAsFunction() -> Bool { lock.lock(); defer { lock.unlock() }; calls += 1; return calls >= n }
}

func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

@Test(needsModelAndImages) func interruptedCalibrationResumesToIdenticalBytes() throws {
    let full = tempPath("resume-full.qparams"), out = tempPath("resume-out.qparams")
    defer { removeQParams(full); removeQParams(out); CalibrationCheckpoint.remove(out: out) }
    _ = try CalibrationCheckpoint.run(resumeRequest(), out: full, resume: false, shouldStop: { false })
    #expect(!FileManager.default.fileExists(atPath: CalibrationCheckpoint.path(for: full)), "checkpoint removed on completion")

    // A previous output must survive an interruption untouched.
    let previous = Data("previous result".utf8)
    try previous.write(to: URL(fileURLWithPath: out)); try previous.write(to: URL(fileURLWithPath: out + ".json"))

    let stop5 = StopAfter(5)
    let e1 = #expect(throws: CalibrationInterrupted.self) {
        _ = try CalibrationCheckpoint.run(resumeRequest(), out: out, resume: false, shouldStop: { stop5() })
    }
    #expect(e1?.sitesDone == 5)
    #expect(try bytes(out) == previous && bytes(out + ".json") == previous)
    #expect(try QParams.read(path: CalibrationCheckpoint.path(for: out)).sites.count == 5)

    // Resume, interrupted again at site 9 (checkpoint every 3 sites: the stop still writes the last ones).
    let stop9 = StopAfter(9)
    let e2 = #expect(throws: CalibrationInterrupted.self) {
        _ = try CalibrationCheckpoint.run(resumeRequest(), out: out, resume: true, every: 3, shouldStop: { stop9() })
    }
    #expect(e2?.sitesDone == 9)
    #expect(try QParams.read(path: CalibrationCheckpoint.path(for: out)).sites.count == 9)
    #expect(try bytes(out) == previous)

    _ = try CalibrationCheckpoint.run(resumeRequest(), out: out, resume: true, shouldStop: { false })
    #expect(try bytes(out) == bytes(full), "resumed QPARAMS differs from the uninterrupted run")
    #expect(try bytes(out + ".json") == bytes(full + ".json"), "resumed sidecar differs from the uninterrupted run")
    #expect(!FileManager.default.fileExists(atPath: CalibrationCheckpoint.path(for: out)))
    #expect(!FileManager.default.fileExists(atPath: CalibrationCheckpoint.path(for: out) + ".json"))
}

@Test(needsModelAndImages) func resumeRefusesOtherSettingsAndMissingCheckpoint() throws {
    let out = tempPath("resume-settings.qparams")
    defer { removeQParams(out); CalibrationCheckpoint.remove(out: out) }
    let missing = #expect(throws: QuantError.self) {
        _ = try CalibrationCheckpoint.run(resumeRequest(), out: out, resume: true, shouldStop: { false })
    }
    #expect(missing?.description.contains("no checkpoint") == true)

    let stop = StopAfter(1)
    #expect(throws: CalibrationInterrupted.self) {
        _ = try CalibrationCheckpoint.run(resumeRequest(), out: out, resume: false, shouldStop: { stop() })
    }
    let seed = #expect(throws: QuantError.self) {
        _ = try CalibrationCheckpoint.run(resumeRequest(seed: 6), out: out, resume: true, shouldStop: { false })
    }
    #expect(seed?.description.contains("seed: checkpoint '5', this run '6'") == true, "\(String(describing: seed))")
    let bits = #expect(throws: QuantError.self) {
        _ = try CalibrationCheckpoint.run(resumeRequest(bits: 3), out: out, resume: true, shouldStop: { false })
    }
    #expect(bits?.description.contains("bits: checkpoint 'w4a4', this run 'w3a3'") == true, "\(String(describing: bits))")
    #expect(!FileManager.default.fileExists(atPath: out), "a refused resume writes no output")
    #expect(FileManager.default.fileExists(atPath: CalibrationCheckpoint.path(for: out)), "a refused resume keeps the checkpoint")
}

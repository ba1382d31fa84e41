import Foundation
import HarmoQ
import SRCalibration
import SREngine
import SRIO
import Testing

/// The engine's thread count (`Parallel.threads`, from HARMOQ_THREADS) must not change any bit of a result.
/// Serialized: the tests set the process-wide thread count.
@Suite(.serialized, needsModelAndImages) struct ThreadCountDeterminismTests {
    @Test func datForwardIsBitIdenticalFor1To3Threads() throws {
        let weights = try ModelLoader.readStateDict(path: datX2)
        let patches = try CalibrationPatches.draw(count: 1, scale: 2, seed: 11, sources: [calibrationSource])
        var outputs: [[UInt32]] = []
        for t in [1, 2, 3] {
            let y = try Parallel.withThreads(t) { try ModelLoader.build(weights: weights).forward(patches.lr[0]) }
            outputs.append(y.data.map(\.bitPattern))
        }
        #expect(outputs[0] == outputs[1], "1 vs 2 threads")
        #expect(outputs[0] == outputs[2], "1 vs 3 threads")
    }

    /// Cheap enough for ThreadSanitizer: 3 patch threads meet at 24 sites (MinMax), kernels on 1 or 3 threads.
    @Test func minMaxLockstepCalibrationIsThreadCountIndependent() throws {
        let weights = try ModelLoader.readStateDict(path: datX2)
        let patches = try CalibrationPatches.draw(count: 3, scale: 2, seed: 1, sources: [calibrationSource])
        var o = ModelCalibrationOptions(method: .minMax, weightBits: 4, activationBits: 4)
        o.siteLimit = 24
        let one = try Parallel.withThreads(1) { try ModelCalibrator.calibrate(weights: weights, patches: patches.lr, options: o) }
        let three = try Parallel.withThreads(3) { try ModelCalibrator.calibrate(weights: weights, patches: patches.lr, options: o) }
        #expect(one.count == 24)
        #expect(one == three)
    }

    @Test func calibrationQParamsBytesAreIdenticalFor1To3Threads() throws {
        var files: [(Data, Data)] = []
        for t in [1, 2, 3] {
            let path = tempPath("threads-\(t).qparams")
            defer { removeQParams(path) }
            let (qp, _, _) = try Parallel.withThreads(t) { try ciCalibration(ciHarmoQ(.corrected), seed: 2) }
            try qp.write(to: path)
            files.append((try Data(contentsOf: URL(fileURLWithPath: path)), try Data(contentsOf: URL(fileURLWithPath: path + ".json"))))
        }
        #expect(files[0].0 == files[1].0 && files[0].1 == files[1].1, "1 vs 2 threads")
        #expect(files[0].0 == files[2].0 && files[0].1 == files[2].1, "1 vs 3 threads")
    }
}

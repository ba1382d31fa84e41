import Foundation
import SRIO

/// The JSON `harmoq calibrate --report FILE` writes: what ran, its wall time and peak memory.
public struct CalibrationReport: Codable, Sendable, Equatable {
    public var qparams: String
    public var method: String
    public var bits: String
    public var seconds: Double
    /// Peak resident memory of the process (VmHWM), MiB; nil where /proc is missing.
    public var peakMemoryMiB: Double?
    public var patches: Int
    public var sites: Int
    /// Output-level refinement applied after the method (e.g. "block"), if any.
    public var refine: String? = nil
    /// `--rotate` (hadamard, random), if any.
    public var rotate: String? = nil
    /// `2dquant` only: the DOBI batch, the DQC iterations and batch, the DQC loss per iteration.
    public var dobiPatches: Int? = nil
    public var dqcIterations: Int? = nil
    public var batch: Int? = nil
    public var losses: [Double]? = nil

    public init(qparams: String, method: String, bits: String, seconds: Double, peakMemoryMiB: Double?, patches: Int, sites: Int) {
        self.qparams = qparams; self.method = method; self.bits = bits; self.seconds = seconds
        self.peakMemoryMiB = peakMemoryMiB; self.patches = patches; self.sites = sites
    }

    /// Writes pretty, key-sorted JSON atomically.
    public func write(to path: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try enc.encode(self), to: path)
    }
}

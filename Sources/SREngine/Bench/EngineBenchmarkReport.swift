import Foundation
import SRIO

extension EngineBenchmark {
    /// The JSON report of `harmoq bench --json` (FP and hooked whole-image forwards): snake_case keys, sorted, absent
    /// keys for what was not measured.
    public struct Report: Codable, Sendable, Equatable {
        public struct FPImage: Codable, Sendable, Equatable {
            public var name: String
            public var height: Int, width: Int
            public var seconds: [Double]
            public var cpuSeconds: [Double]
            enum CodingKeys: String, CodingKey { case name, height, width, seconds, cpuSeconds = "cpu_seconds" }
        }

        public struct HookedImage: Codable, Sendable, Equatable {
            public var name: String
            public var seconds: [Double]
        }

        public var model: String
        public var set: String
        public var repeats: Int
        public var threads: Int
        /// Sums over images of the per-image medians (wall, and process CPU over all threads).
        public var fpSetSeconds: Double
        public var fpSetCPUSeconds: Double
        public var fpPerImage: [FPImage]
        public var hookedSetSeconds: Double?
        public var hookedPerImage: [HookedImage]?
        /// The official PyTorch forward time of the set (fp-metrics.json) and reference / `fpSetSeconds`.
        public var referenceSeconds: Double?
        public var speedup: Double?
        /// VmHWM after the runs.
        public var peakResidentBytes: Int?

        enum CodingKeys: String, CodingKey {
            case model, set, repeats, threads, fpSetSeconds = "fp_set_seconds", fpSetCPUSeconds = "fp_set_cpu_seconds",
                 fpPerImage = "fp_per_image", hookedSetSeconds = "hooked_set_seconds", hookedPerImage = "hooked_per_image",
                 referenceSeconds = "reference_seconds", speedup, peakResidentBytes = "peak_resident_bytes"
        }

        public init(_ r: Result, model: String, set: String, repeats: Int, threads: Int, referenceSeconds: Double?) {
            self.model = model; self.set = set; self.repeats = repeats; self.threads = threads
            fpSetSeconds = r.fpSetSeconds; fpSetCPUSeconds = r.fpSetCPUSeconds
            fpPerImage = r.fp.map { FPImage(name: $0.name, height: $0.height, width: $0.width, seconds: $0.seconds, cpuSeconds: $0.cpuSeconds) }
            hookedSetSeconds = r.hookedSetSeconds
            hookedPerImage = r.hooked?.map { HookedImage(name: $0.name, seconds: $0.seconds) }
            self.referenceSeconds = referenceSeconds
            speedup = referenceSeconds.map { $0 / r.fpSetSeconds }
            peakResidentBytes = r.peakResidentBytes
        }

        /// Writes the report as pretty-printed JSON with sorted keys, atomically.
        public func write(to path: String) throws {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(try enc.encode(self), to: path)
        }
    }
}

import Foundation
import SRIO

extension IntegerModelBench {
    /// The JSON report of `harmoq bench --int --json`: per configuration the set totals, their ratios to the first
    /// configuration (FP32), per-image medians and repeats, and the memory pass; snake_case keys, sorted.
    public struct Report: Codable, Sendable, Equatable {
        public struct Image: Codable, Sendable, Equatable {
            public var name: String
            public var medianSeconds: Double
            public var seconds: [Double]
            enum CodingKeys: String, CodingKey { case name, medianSeconds = "median_seconds", seconds }
        }

        public struct Config: Codable, Sendable, Equatable {
            public var name: String
            public var setSeconds: Double
            public var speedVsFP32: Double
            public var setCPUSeconds: Double
            public var cpuSpeedVsFP32: Double
            public var perImage: [Image]
            /// VmHWM after the configuration's pass, and the resident bytes before it (nil: /proc did not tell).
            public var peakResidentBytes: Int?
            public var residentBeforeBytes: Int?
            enum CodingKeys: String, CodingKey {
                case name, setSeconds = "set_seconds", speedVsFP32 = "speed_vs_fp32", setCPUSeconds = "set_cpu_seconds",
                     cpuSpeedVsFP32 = "cpu_speed_vs_fp32", perImage = "per_image", peakResidentBytes = "peak_resident_bytes",
                     residentBeforeBytes = "resident_before_bytes"
            }
        }

        public var model: String
        public var set: String
        public var repeats: Int
        public var threads: Int
        public var intKernel: String
        public var configs: [Config]

        enum CodingKeys: String, CodingKey { case model, set, repeats, threads, intKernel = "int_kernel", configs }

        /// The report of `r` (its first configuration the FP32 baseline), images named `imageNames` in run order.
        public init(_ r: Result, imageNames: [String], model: String, set: String, repeats: Int, threads: Int, intKernel: String) {
            self.model = model; self.set = set; self.repeats = repeats; self.threads = threads; self.intKernel = intKernel
            let medians = r.medians, totals = r.totals, cpuTotals = r.cpuTotals
            configs = r.configurations.enumerated().map { ci, c in
                Config(name: c.name, setSeconds: totals[ci], speedVsFP32: totals[0] / totals[ci], setCPUSeconds: cpuTotals[ci],
                       cpuSpeedVsFP32: cpuTotals[0] / cpuTotals[ci],
                       perImage: imageNames.enumerated().map { i, n in Image(name: n, medianSeconds: medians[ci][i], seconds: r.seconds[ci][i]) },
                       peakResidentBytes: r.peaks[ci]?.peak, residentBeforeBytes: r.peaks[ci]?.before)
            }
        }

        /// Writes the report as pretty-printed JSON with sorted keys, atomically.
        public func write(to path: String) throws {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(try enc.encode(self), to: path)
        }
    }
}

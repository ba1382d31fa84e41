import CKernels
import Dispatch
import Foundation
import SRIO

/// Wall-clock benchmark of whole-image forwards (no tiling), FP and with a trivial hook.
public enum EngineBenchmark {
    public struct ImageTiming: Sendable {
        public let name: String
        public let height: Int, width: Int
        /// Wall-clock seconds per repeat.
        public let seconds: [Double]
        /// Process CPU seconds (all threads) per repeat; wall ≈ CPU / threads on an idle machine.
        public let cpuSeconds: [Double]
        public var median: Double { EngineBenchmark.median(seconds) }
        public var medianCPU: Double { EngineBenchmark.median(cpuSeconds) }
    }

    public struct Result: Sendable {
        public let fp: [ImageTiming]
        /// Same images with `RoundingHook` installed (nil when not measured).
        public let hooked: [ImageTiming]?
        /// Peak resident set size of the process (VmHWM) after the runs, bytes.
        public let peakResidentBytes: Int?
        /// Sum over images of the per-image median.
        public var fpSetSeconds: Double { fp.map(\.median).reduce(0, +) }
        public var fpSetCPUSeconds: Double { fp.map(\.medianCPU).reduce(0, +) }
        public var hookedSetSeconds: Double? { hooked.map { $0.map(\.median).reduce(0, +) } }
    }

    /// Runs every image `repeats` times (after one warm-up forward on a 16×16 input).
    public static func run(model: any SRModel, images: [(name: String, image: Tensor)], repeats: Int,
                           withHook: Bool, progress: (String) -> Void) throws -> Result {
        guard repeats >= 1 else { throw EngineError("repeats must be at least 1, got \(repeats)") }
        _ = try model.forward(Tensor(zeros: [1, 3, 16, 16]))
        func timeAll(_ label: String) throws -> [ImageTiming] {
            var out: [ImageTiming] = []
            for (name, img) in images {
                var secs: [Double] = [], cpu: [Double] = []
                for r in 0..<repeats {
                    let (dt, dc) = try timed { _ = try model.forward(img) }
                    secs.append(dt)
                    cpu.append(dc)
                    progress("\(label) \(name) \(img.shape[2])x\(img.shape[3]) repeat \(r + 1)/\(repeats): "
                             + String(format: "%.3f s wall, %.3f s CPU", dt, dc))
                }
                out.append(ImageTiming(name: name, height: img.shape[2], width: img.shape[3], seconds: secs, cpuSeconds: cpu))
            }
            return out
        }
        let saved = model.hook
        defer { model.hook = saved }
        model.hook = nil
        let fp = try timeAll("fp")
        var hooked: [ImageTiming]? = nil
        if withHook {
            model.hook = RoundingHook()
            hooked = try timeAll("hooked")
        }
        return Result(fp: fp, hooked: hooked, peakResidentBytes: ProcessMemory.peakResidentBytes())
    }

    /// CPU time of the whole process (all threads), seconds.
    public static func processCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Wall-clock and process CPU seconds (all threads) of one call of `body`.
    public static func timed(_ body: () throws -> Void) rethrows -> (wall: Double, cpu: Double) {
        let t0 = DispatchTime.now().uptimeNanoseconds, c0 = processCPUSeconds()
        try body()
        return (Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9, processCPUSeconds() - c0)
    }

    /// The median (mean of the two middle values for an even count); NaN when empty.
    public static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        guard !s.isEmpty else { return .nan }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// `wall_time_s_forward_only` of `results.<set>` in ../shared/reference/fp-metrics.json.
    public static func referenceSeconds(metricsPath: String, set: String) throws -> Double {
        guard let t = try ReferenceMetrics.read(path: metricsPath).results[set]?.wallTimeForwardOnly else {
            throw EngineError("\(metricsPath): no results.\(set).wall_time_s_forward_only")
        }
        return t
    }
}

/// A minimal fake-quantization hook for overhead measurements: rounds every value to a fixed
/// grid of step 2⁻⁶ inside [−8, 8) (a per-tensor 10-bit uniform quantizer with a constant range).
public final class RoundingHook: ActivationHook {
    /// Elementwise, so it accepts window-probability row blocks (see `ActivationHook`).
    public let acceptsRowBlocks: Bool

    public init(acceptsRowBlocks: Bool = true) { self.acceptsRowBlocks = acceptsRowBlocks }
    public func process(site: Site, index: Int, values: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int) {
        let step: Float = 1.0 / 64, lo: Float = -8, hi: Float = 8 - step
        guard let base = values.baseAddress else { return }
        Parallel.ranges(values.count, minPerChunk: 1 << 16, align: 16) { r in
            ck_round_to_grid(base + r.lowerBound, r.count, lo, hi, step)
        }
    }
}

/// Process memory figures from /proc/self/status (Linux).
public enum ProcessMemory {
    /// Resets the kernel's peak-RSS mark (VmHWM) to the current RSS by writing "5" to /proc/self/clear_refs, so a later
    /// `peakResidentBytes()` measures the peak of what ran in between. Returns false where that is not possible
    /// (then the peak is the process's since start).
    @discardableResult
    public static func resetPeak() -> Bool {
        guard let f = fopen("/proc/self/clear_refs", "w") else { return false }
        defer { fclose(f) }
        return fputs("5", f) >= 0 && fflush(f) == 0
    }

    /// Returns freed heap to the system (`malloc_trim(0)`: the engine keeps freed blocks, `preferHeapReuse`), resets
    /// VmHWM (`resetPeak`) and returns the resident set size (VmRSS) after that, in bytes, or nil where unavailable:
    /// the start of a working-set measurement (peak − this).
    public static func trimAndResetPeak() -> Int? {
        #if canImport(Glibc)
        // malloc_trim is not in Swift's Glibc module: look it up in the process.
        if let h = dlopen(nil, RTLD_NOW), let f = dlsym(h, "malloc_trim") {
            _ = unsafeBitCast(f, to: (@convention(c) (Int) -> Int32).self)(0)
        }
        #endif
        guard resetPeak() else { return nil }
        return statusBytes("VmRSS:")
    }

    /// `peakResidentBytes()` in MiB.
    public static func peakResidentMiB() -> Double? { peakResidentBytes().map { Double($0) / 1_048_576 } }

    /// VmHWM (peak resident set size) in bytes, or nil where unavailable.
    public static func peakResidentBytes() -> Int? { statusBytes("VmHWM:") }

    /// A "<key> N kB" line of /proc/self/status, in bytes.
    static func statusBytes(_ key: String) -> Int? {
        guard let f = fopen("/proc/self/status", "r") else { return nil }
        defer { fclose(f) }
        var line: UnsafeMutablePointer<CChar>? = nil
        var cap = 0
        defer { free(line) }
        while getline(&line, &cap, f) > 0 {
            let s = String(cString: line!)
            if s.hasPrefix(key) {
                let digits = s.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
                if let kb = digits.first { return kb * 1024 }
            }
        }
        return nil
    }
}

import Foundation
import Testing
@testable import SREngine
@testable import SRInteger
import SRIO

/// The JSON reports of `harmoq bench --json` and `bench --int --json` (`EngineBenchmark.Report`,
/// `IntegerModelBench.Report`): typed, with the snake_case keys the files have always had (ci/bench-peers.py reads
/// them), on hand-worked timings.
@Suite struct BenchReportTests {
    static func object(_ write: (String) throws -> Void) throws -> [String: Any] {
        let path = NSTemporaryDirectory() + "/bench-report-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try write(path)
        return try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    }

    @Test func engineReportKeysAndValues() throws {
        // medians: a 2 (of 3, 1, 2), b 1 → set 3 s; CPU 4 + 2 = 6 s; hooked 4 + 2 = 6 s; reference 9 s → speed-up 3.
        let r = EngineBenchmark.Result(
            fp: [.init(name: "a", height: 4, width: 6, seconds: [3, 1, 2], cpuSeconds: [6, 2, 4]),
                 .init(name: "b", height: 2, width: 2, seconds: [1, 1], cpuSeconds: [2, 2])],
            hooked: [.init(name: "a", height: 4, width: 6, seconds: [4], cpuSeconds: [4]),
                     .init(name: "b", height: 2, width: 2, seconds: [2], cpuSeconds: [2])],
            peakResidentBytes: 1000)
        let o = try Self.object { try EngineBenchmark.Report(r, model: "m", set: "s", repeats: 3, threads: 2, referenceSeconds: 9).write(to: $0) }
        #expect(Set(o.keys) == ["model", "set", "repeats", "threads", "fp_set_seconds", "fp_set_cpu_seconds", "fp_per_image",
                                "hooked_set_seconds", "hooked_per_image", "reference_seconds", "speedup", "peak_resident_bytes"])
        #expect(o["fp_set_seconds"] as? Double == 3 && o["fp_set_cpu_seconds"] as? Double == 6 && o["hooked_set_seconds"] as? Double == 6)
        #expect(o["speedup"] as? Double == 3 && o["peak_resident_bytes"] as? Int == 1000 && o["threads"] as? Int == 2)
        let first = try #require((o["fp_per_image"] as? [[String: Any]])?.first)
        #expect(Set(first.keys) == ["name", "height", "width", "seconds", "cpu_seconds"] && first["cpu_seconds"] as? [Double] == [6, 2, 4])
        #expect((o["hooked_per_image"] as? [[String: Any]])?.map { Set($0.keys) } == [["name", "seconds"], ["name", "seconds"]])

        // Not measured: no hook, no reference, no VmHWM → the keys are absent.
        let bare = EngineBenchmark.Result(fp: r.fp, hooked: nil, peakResidentBytes: nil)
        let b = try Self.object { try EngineBenchmark.Report(bare, model: "m", set: "s", repeats: 3, threads: 2, referenceSeconds: nil).write(to: $0) }
        #expect(Set(b.keys) == ["model", "set", "repeats", "threads", "fp_set_seconds", "fp_set_cpu_seconds", "fp_per_image"])
    }

    @Test func integerReportKeysAndValues() throws {
        // FP32 medians 3 (of 2, 4, 3), plan 1 (of 1, 1, 2): speed 3×; CPU 6 vs 2: 3×. Memory pass: FP32 only.
        let plan = IntegerModelBench.Configuration(name: "integer W4A4", setup: nil, mode: .integer)
        let r = IntegerModelBench.Result(configurations: [.fp32, plan], seconds: [[[2, 4, 3]], [[1, 1, 2]]],
                                         cpuSeconds: [[[6]], [[2]]], peaks: [(before: 100, peak: 300), nil])
        let o = try Self.object {
            try IntegerModelBench.Report(r, imageNames: ["img"], model: "m", set: "s", repeats: 3, threads: 2, intKernel: "avx2").write(to: $0)
        }
        #expect(Set(o.keys) == ["model", "set", "repeats", "threads", "int_kernel", "configs"] && o["int_kernel"] as? String == "avx2")
        let configs = try #require(o["configs"] as? [[String: Any]])
        #expect(configs.map { $0["name"] as? String } == ["FP32", "integer W4A4"])
        #expect(Set(configs[0].keys) == ["name", "set_seconds", "speed_vs_fp32", "set_cpu_seconds", "cpu_speed_vs_fp32", "per_image",
                                         "peak_resident_bytes", "resident_before_bytes"])
        #expect(configs[0]["peak_resident_bytes"] as? Int == 300 && configs[0]["resident_before_bytes"] as? Int == 100)
        #expect(configs[1]["peak_resident_bytes"] == nil && configs[1]["set_seconds"] as? Double == 1)
        #expect(configs[1]["speed_vs_fp32"] as? Double == 3 && configs[1]["cpu_speed_vs_fp32"] as? Double == 3)
        let img = try #require((configs[1]["per_image"] as? [[String: Any]])?.first)
        #expect(img["name"] as? String == "img" && img["median_seconds"] as? Double == 1 && img["seconds"] as? [Double] == [1, 1, 2])
    }
}

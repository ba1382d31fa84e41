import Foundation
import HarmoQGolden
import Testing

/// The fp-metrics golden is an independent reference: `golden update` records `FPMetricsGolden.expected`, read from
/// ../shared/reference/fp-metrics.json through `ReferenceMetrics` (which also skips the sets the reference run wrote
/// as "skipped: …" strings). Reading the file again must give exactly the values recorded in Golden/fp-metrics.json.
@Suite struct FPMetricsReferenceTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let shared = URL(fileURLWithPath: repo).deletingLastPathComponent().appendingPathComponent("shared").path
    static var available: Bool { FileManager.default.fileExists(atPath: shared + "/reference/fp-metrics.json") }

    @Test(.enabled(if: available, "needs ../shared/reference/fp-metrics.json"))
    func referenceFileGivesTheRecordedValues() throws {
        let ctx = GoldenContext(repoRoot: Self.repo, sharedDir: Self.shared)
        let p = FPMetricsGolden()
        let stored = try #require(try GoldenStore(dir: Self.repo + "/Golden", context: ctx, producers: [p]).load(p))
        let read = try p.expected(ctx)
        #expect(read.count == 20 && read == stored.values, "\(read.count) values read, \(stored.values.count) recorded")
    }
}

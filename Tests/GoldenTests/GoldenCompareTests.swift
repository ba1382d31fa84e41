import Testing
import Foundation
import HarmoQGolden

/// The golden comparison must fail on a perturbed value, and pass on the stored one.
@Suite("Golden comparison")
struct GoldenCompareTests {
    static var repoRoot: String {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
        }
        return "."
    }

    @Test func toleranceSemantics() {
        let t = GoldenTolerance(absolute: 1e-3, relative: 1e-2)
        #expect(t.accepts(.number(1.005), .number(1.0)))
        #expect(!t.accepts(.number(1.02), .number(1.0)))
        #expect(GoldenTolerance.exact.accepts(.number(2), .number(2)))
        #expect(!GoldenTolerance.exact.accepts(.number(2.0000001), .number(2)))
        #expect(!t.accepts(.text("holds"), .text("refuted")))
        #expect(t.accepts(.number(.nan), .number(.nan)))
        #expect(!t.accepts(.number(1), .text("1")))
    }

    /// The committed quantizer-tables golden file passes as stored and fails once one value is perturbed.
    @Test func perturbedGoldenValueFails() throws {
        let dir = Self.repoRoot + "/Golden"
        let store = GoldenStore(dir: dir, context: GoldenContext(repoRoot: Self.repoRoot, sharedDir: Self.repoRoot + "/../shared"),
                                producers: [QuantizerTablesGolden()])
        let results = store.check()
        #expect(results.count == 1)
        #expect(results.first?.status == .ok, "\(results.first?.diff ?? [])")

        let p = QuantizerTablesGolden()
        var stored = try #require(try store.load(p))
        let key = try #require(stored.values.keys.sorted().first { $0.hasSuffix(".value") })
        guard case .number(let v) = stored.values[key]! else { Issue.record("not a number"); return }
        stored.values[key] = .number(v + 1e-6)
        let produced = try p.produce(store.context)
        let (status, diff) = GoldenStore.compare(id: p.id, produced: produced, stored: stored, tolerance: p.tolerance(for:))
        #expect(status == .differs)
        #expect(diff.count == 1 && diff[0].contains(key))
    }

    @Test func updateRequiresAReason() {
        let tmp = NSTemporaryDirectory() + "golden-\(UUID().uuidString)"
        let store = GoldenStore(dir: tmp, context: GoldenContext(repoRoot: ".", sharedDir: "."), producers: [QuantizerTablesGolden()])
        #expect(throws: (any Error).self) { try store.update(reason: "x", toolVersion: "t", date: "d") }
        #expect(!FileManager.default.fileExists(atPath: tmp + "/manifest.json"))
    }
}

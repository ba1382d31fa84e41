import Foundation
import HarmoQGolden
import Testing

/// A producer whose inputs are partly absent: the values it cannot reproduce are skipped (reported with the reason,
/// never compared), the others are still compared, and `update` refuses to write a partial file.
struct PartlyAvailableProducer: GoldenProducer {
    let id = "partly"
    let what = "test producer"
    let producer = "test"
    let kind = GoldenKind.selfRegression
    let tolerance = GoldenTolerance.exact
    let a: Double
    func produce(_ ctx: GoldenContext) throws -> [String: GoldenValue] { ["A.x": .number(a), "B.y": .number(99)] }
    func unavailable(_ ctx: GoldenContext) -> GoldenSkip? { GoldenSkip(reason: "B needs the moon") { $0.hasPrefix("B.") } }
}

@Test func unavailableValuesAreSkippedAndTheRestCompared() throws {
    let dir = NSTemporaryDirectory() + "golden-skip-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let file = GoldenFile(id: "partly", values: ["A.x": .number(1), "B.y": .number(2)])
    try file.encoded().write(to: URL(fileURLWithPath: dir + "/partly.json"))
    let ctx = GoldenContext(repoRoot: ".", sharedDir: "/nonexistent")

    let ok = GoldenStore(dir: dir, context: ctx, producers: [PartlyAvailableProducer(a: 1)]).check()
    #expect(ok.count == 1 && ok[0].status == .ok && ok[0].compared == 1 && ok[0].skippedValues == 1)
    #expect(ok[0].skipReason == "B needs the moon")

    let differs = GoldenStore(dir: dir, context: ctx, producers: [PartlyAvailableProducer(a: 1.5)]).check()
    #expect(differs[0].status == .differs && differs[0].diff.count == 1 && differs[0].diff[0].contains("A.x"))

    let e = #expect(throws: (any Error).self) {
        _ = try GoldenStore(dir: dir, context: ctx, producers: [PartlyAvailableProducer(a: 1)]).update(reason: "a good reason", toolVersion: "t", date: "d")
    }
    #expect("\(e.map { "\($0)" } ?? "")".contains("B needs the moon"))
    #expect(try JSONDecoder().decode(GoldenFile.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/partly.json"))).values == file.values, "nothing rewritten")
}

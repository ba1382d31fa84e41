import Foundation

/// Golden/manifest.json: one entry per golden file — what it is, who produced it, whether it is an
/// independent reference or a self-regression snapshot, its tolerance, and every update with its reason.
public struct GoldenManifest: Codable, Equatable, Sendable {
    public struct Update: Codable, Equatable, Sendable {
        public var date: String
        public var reason: String
        public var toolVersion: String
    }
    public struct Entry: Codable, Equatable, Sendable {
        public var file: String
        public var what: String
        /// Who made the expected values (e.g. "official PyTorch DAT code, torch 2.15.0" or "harmoq 0.1.0").
        public var producer: String
        /// "independent reference" or "self-regression".
        public var kind: String
        public var tolerance: GoldenTolerance
        public var history: [Update]
    }
    public var entries: [Entry]

    public static let fileName = "manifest.json"

    public static func load(dir: String) throws -> GoldenManifest {
        let path = dir + "/" + fileName
        guard let d = FileManager.default.contents(atPath: path) else { return GoldenManifest(entries: []) }
        return try JSONDecoder().decode(GoldenManifest.self, from: d)
    }

    public func encoded() throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        var d = try enc.encode(self)
        d.append(0x0A)
        return d
    }
}

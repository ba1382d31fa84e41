import Foundation

/// Locations of test data: `../shared` next to the repository root (found from this file's path
/// up to the folder that holds Package.swift). Tests that need it use `.enabled(if: SharedData.available)`.
enum SharedData {
    static let repoRoot: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url = url.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: ".")
    }()
    static let root = repoRoot.deletingLastPathComponent().appendingPathComponent("shared")
    static var available: Bool { FileManager.default.fileExists(atPath: root.appendingPathComponent("data/Set5/HR").path) }
    static func path(_ rel: String) -> String { root.appendingPathComponent(rel).path }
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }
}

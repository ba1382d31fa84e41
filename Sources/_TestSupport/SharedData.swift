import Foundation

/// Test support (not API): locates ../shared relative to the repository root (the folder holding Package.swift).
public enum SharedData {
    public static let repoRoot: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    }()

    public static let root = repoRoot.appendingPathComponent("../shared").standardized

    public static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    public static func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: path(relative)) }

    public static var available: Bool { exists("reference/README.md") && exists("models/README.md") }
}

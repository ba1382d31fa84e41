import Foundation
import SRIO

/// Locates ../shared relative to the repository root (the folder holding Package.swift).
enum SharedData {
    static let repoRoot: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    }()

    static let root = repoRoot.appendingPathComponent("../shared").standardized

    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    static func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: path(relative)) }

    static var available: Bool { exists("reference/README.md") && exists("models/README.md") }
}

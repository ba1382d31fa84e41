import Foundation

extension GoldenContext {
    /// A file under the shared folder, or `GoldenUnavailable` naming it.
    func shared(_ relative: String) throws -> String {
        let p = sharedDir + "/" + relative
        guard FileManager.default.fileExists(atPath: p) else { throw GoldenUnavailable("needs \(p)") }
        return p
    }
}

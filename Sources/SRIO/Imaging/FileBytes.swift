import Foundation

/// Whole-file reads with an error that names the path.
enum FileBytes {
    static func read(_ path: String) throws -> [UInt8] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw IOError("\(path): no such file")
        }
        guard !isDir.boolValue else { throw IOError("\(path): is a directory, not a file") }
        guard let d = FileManager.default.contents(atPath: path) else { throw IOError("\(path): cannot read") }
        return [UInt8](d)
    }
}

import Foundation

/// Writes a whole file or nothing: the bytes go to a temporary file in the destination's folder,
/// which is then renamed over the destination (rename(2) is atomic within one file system).
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: dir.isEmpty ? "." : dir, withIntermediateDirectories: true)
        let tmp = (dir.isEmpty ? "." : dir) + "/.\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard FileManager.default.createFile(atPath: tmp, contents: data) else {
            throw IOError("cannot write temporary file '\(tmp)'")
        }
        if rename(tmp, path) != 0 {
            let err = errno
            unlink(tmp)
            throw IOError("cannot rename '\(tmp)' to '\(path)' (errno \(err))")
        }
    }

    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }
}

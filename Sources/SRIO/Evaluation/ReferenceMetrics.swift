import Foundation

/// `../shared/reference/fp-metrics.json`: what the official DAT code printed for the FP models (per set, e.g.
/// "Set5_x2": per-image PSNR/SSIM on Y and the forward time), the one typed reading of that file (bench's reference
/// time, the fp-metrics golden, the metric tests). Fields this tool does not use are not read.
public struct ReferenceMetrics: Decodable, Sendable {
    public struct Image: Decodable, Sendable {
        public var psnrY: Double?
        public var ssimY: Double?
        enum CodingKeys: String, CodingKey { case psnrY = "psnr_y", ssimY = "ssim_y" }
    }

    public struct SetResult: Decodable, Sendable {
        public var perImage: [String: Image]?
        /// Forward passes only, summed over the set (seconds).
        public var wallTimeForwardOnly: Double?
        enum CodingKeys: String, CodingKey { case perImage = "per_image", wallTimeForwardOnly = "wall_time_s_forward_only" }
    }

    /// By set name, e.g. "Set5_x2"; a set the reference run skipped is a string in the file ("skipped: …") and absent here.
    public var results: [String: SetResult]

    enum CodingKeys: String, CodingKey { case results }

    /// One entry of `results`: a set's object, or the string the reference run wrote for a set it skipped.
    private struct Entry: Decodable {
        var set: SetResult?
        init(from decoder: any Decoder) throws {
            if let c = try? decoder.singleValueContainer(), (try? c.decode(String.self)) != nil { set = nil; return }
            set = try SetResult(from: decoder)
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        results = try c.decode([String: Entry].self, forKey: .results).compactMapValues(\.set)
    }

    public static func read(path: String) throws -> ReferenceMetrics {
        guard let data = FileManager.default.contents(atPath: path) else { throw IOError("cannot read \(path)") }
        do { return try JSONDecoder().decode(ReferenceMetrics.self, from: data) } catch {
            throw IOError("\(path) is not an fp-metrics file (results.<set>.per_image / wall_time_s_forward_only): \(error)")
        }
    }
}

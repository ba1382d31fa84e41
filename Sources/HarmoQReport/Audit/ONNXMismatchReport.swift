import Foundation

/// The per-site comparison of this project's fake quantization with onnxruntime (written by the ONNX QDQ export
/// check): `{"onnxruntime": "1.x", "sites": [{"site", "elements", "maxAbsDiff", "tieMismatches", "otherMismatches"}]}`.
public struct ONNXMismatchReport: Codable, Sendable {
    public struct Site: Codable, Sendable {
        public var site: String
        public var elements: Int
        public var maxAbsDiff: Double
        /// One-step differences explained by tie rounding (ONNX rounds ties to even).
        public var tieMismatches: Int
        public var otherMismatches: Int
        public init(site: String, elements: Int, maxAbsDiff: Double, tieMismatches: Int, otherMismatches: Int) {
            self.site = site; self.elements = elements; self.maxAbsDiff = maxAbsDiff
            self.tieMismatches = tieMismatches; self.otherMismatches = otherMismatches
        }
    }

    public var onnxruntime: String
    public var sites: [Site]

    public init(onnxruntime: String, sites: [Site]) { self.onnxruntime = onnxruntime; self.sites = sites }

    public static func read(path: String) throws -> ONNXMismatchReport {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ReportError("--onnx-report: cannot read '\(path)': \(error.localizedDescription)")
        }
        do { return try JSONDecoder().decode(ONNXMismatchReport.self, from: data) } catch {
            throw ReportError("--onnx-report: '\(path)' is not {\"onnxruntime\": str, \"sites\": [{\"site\", \"elements\", \"maxAbsDiff\", \"tieMismatches\", \"otherMismatches\"}]}: \(error)")
        }
    }
}

import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import HarmoQ
import HarmoQReport
import SRCalibration

/// Small hand-made inputs for the report tests (no model, no shared data).
enum ReportFixtures {
    /// A site name that needs escaping in HTML, SVG and Markdown.
    static let hostileSite = "blocks.0 <script>alert(\"x\")</script> & 'y' | z"

    /// One linear site (2×3, 4 bits, HSO scales) and one operand site, decoded from sidecar-style JSON
    /// (SiteQuantization's initialiser is internal to SRCalibration).
    static func qparams(trace: Bool = false) throws -> QParams {
        let linear: [String: Any] = [
            "name": hostileSite, "kind": "linear", "activationQuantized": true, "weightQuantized": true, "activationBits": 4,
            "activationScheme": "symmetric", "rounding": "halfToEven", "activationLower": -1.5, "activationUpper": 1.5,
            "layer": ["weightBits": 4, "activationBits": 4, "weightScheme": "symmetric", "activationScheme": "symmetric",
                      "rounding": "halfToEven", "weightGranularity": "perChannel", "outputs": 2, "inputs": 3,
                      "weightLower": [-0.75, -1.5], "weightUpper": [0.75, 1.5], "activationLower": -1.5, "activationUpper": 1.5,
                      "inputScale": [1.0, 2.0, 0.5], "weight": [0.1, -0.52, 0.7, 1.2, 0.33, -1.4]] as [String: Any],
            "before": ["deployment": 2.0, "linearised": 1.5], "after": ["deployment": 0.5, "linearised": 0.25],
        ].merging(trace ? ["convergence": ["iterations": [0, 1, 2], "losses": [2.0, 1.0, 0.5], "accepted": [true, true, true]]] : [:]) { a, _ in a }
        let operand: [String: Any] = [
            "name": "blocks.0.attn.q", "kind": "matmulOperand", "activationQuantized": true, "weightQuantized": false, "activationBits": 3,
            "activationScheme": "affine", "rounding": "halfToEven", "activationLower": -0.7, "activationUpper": 0.7,
        ]
        let doc: [String: Any] = [
            "format": QParams.format, "toolVersion": "test", "model": "m.safetensors", "architecture": "dat-light", "scale": 2,
            "method": "harmoq", "weightBits": 4, "activationBits": 4, "seed": 0, "inputs": "quantized-prefix", "patchCount": 1,
            "patchSources": [], "notes": [], "sites": [linear, operand],
        ]
        return try JSONDecoder().decode(QParams.self, from: try JSONSerialization.data(withJSONObject: doc))
    }

    static let siteInfos = [AuditManifest.SiteInfo(name: hostileSite, kind: "linear 3->2"),
                            AuditManifest.SiteInfo(name: "blocks.0.attn.q", kind: "matmul operand"),
                            AuditManifest.SiteInfo(name: "upsample.conv", kind: "linear 3->3")]

    static func report(trace: Bool = true, onnx: Bool = true) throws -> AuditReport {
        let q = try qparams(trace: trace)
        let header = AuditReport.Header(model: "m <1>.safetensors", qparams: "q.qparams", architecture: "dat-light", scale: 2, method: "harmoq",
                                        bits: "W4A4", toolVersion: "test", command: "harmoq audit --model m")
        let images = ImageComparison(set: "Set5", scale: 2, protocolDescription: "test protocol",
                                     rows: [.init(name: "baby", fpPSNR: 38, fpSSIM: 0.96, quantPSNR: 37.5, quantSSIM: 0.95),
                                            .init(name: hostileSite, fpPSNR: 35, fpSSIM: 0.93, quantPSNR: 33, quantSSIM: 0.9)],
                                     crops: .init(image: hostileSite, x: 8, y: 16, size: 4, fpPNG: Data([1, 2, 3]), quantizedPNG: Data([4, 5]),
                                                  groundTruthPNG: Data([6])))
        var report = AuditReport(
            header: header, manifest: try AuditManifest.rows(sites: siteInfos, qparams: q), bounds: try AuditManifest.bounds(q),
            sqnr: [.init(site: hostileSite, weightDB: 21.5, activationDB: 14.25), .init(site: "blocks.0.attn.q", weightDB: nil, activationDB: 9.5)],
            sqnrInput: "one patch",
            sensitivity: .init(patches: ["img.png@0,0"], seconds: 1, rows: [.init(site: hostileSite, weightOnlyMSE: 1e-5, activationOnlyMSE: 1e-3),
                                                                            .init(site: "blocks.0.attn.q", weightOnlyMSE: nil, activationOnlyMSE: 1e-4)]),
            convergence: AuditManifest.convergence(q), certificates: AuditManifest.certificates(q),
            verdicts: VerdictTable(source: "test", rows: [.init(claim: "T1", verdict: "refuted", reproduced: "yes")]),
            images: images,
            onnx: onnx ? ONNXMismatchReport(onnxruntime: "1.20.0", sites: [.init(site: hostileSite, elements: 100, maxAbsDiff: 1e-6,
                                                                                    tieMismatches: 2, otherMismatches: 0)]) : nil)
        var heavy = MomentAccumulator(); heavy.add([0, 0, 0, 4] as [Float])
        var flat = MomentAccumulator(); flat.add([1, -1, 1, -1] as [Float])
        report.outliers = .init(source: "one patch", planRotates: true,
                                rows: [.init(site: hostileSite, input: .init(heavy), rotated: .init(flat), scaled: .init(flat)),
                                       .init(site: "blocks.0.attn.q", input: .init(heavy), rotated: nil, scaled: nil)])
        return report
    }

    /// Every `<svg …>…</svg>` in a document.
    static func svgs(in html: String) -> [String] {
        var out: [String] = []
        var rest = html[...]
        while let a = rest.range(of: "<svg "), let b = rest.range(of: "</svg>", range: a.upperBound..<rest.endIndex) {
            out.append(String(rest[a.lowerBound..<b.upperBound]))
            rest = rest[b.upperBound...]
        }
        return out
    }
}

/// Collects the attributes of every element of an XML document; `parse` fails on malformed XML.
final class ElementCollector: NSObject, XMLParserDelegate {
    var elements: [(name: String, attributes: [String: String])] = []
    var error: Error?

    static func parse(_ xml: String) -> ElementCollector? {
        let c = ElementCollector()
        let p = XMLParser(data: Data(xml.utf8))
        p.delegate = c
        return p.parse() ? c : nil
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        elements.append((name, attributes))
    }

    func withClass(_ c: String) -> [[String: String]] {
        elements.filter { ($0.attributes["class"] ?? "").split(separator: " ").contains(Substring(c)) }.map(\.attributes)
    }
}

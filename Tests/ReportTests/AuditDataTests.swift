import Foundation
import Testing
import HarmoQ
import HarmoQReport
import SRCalibration
import SRIO

@Suite("Audit data")
struct AuditDataTests {
    @Test func manifestListsFPSitesAndStepSizes() throws {
        let q = try ReportFixtures.qparams()
        let rows = try AuditManifest.rows(sites: ReportFixtures.siteInfos, qparams: q)
        #expect(rows.map(\.site) == ReportFixtures.siteInfos.map(\.name))
        let lin = rows[0], op = rows[1], fp = rows[2]
        #expect(lin.inQParams && lin.weightQuantized && lin.activationQuantized && lin.inputScaled)
        #expect(lin.weightBits == 4 && lin.activationBits == 4 && lin.weightGranularity == .perChannel)
        #expect(abs(lin.activationStep! - 3.0 / 15) < 1e-6)
        #expect(abs(lin.weightStepMin! - 1.5 / 15) < 1e-6 && abs(lin.weightStepMax! - 3.0 / 15) < 1e-6)
        #expect(!op.weightQuantized && op.activationBits == 3 && abs(op.activationStep! - 1.4 / 7) < 1e-6)
        #expect(!fp.inQParams && !fp.weightQuantized && !fp.activationQuantized)
        let b = try AuditManifest.bounds(q)
        #expect(b.activationSteps.count == 2 && b.weightSteps.count == 2)
    }

    @Test func manifestRefusesAForeignSite() throws {
        let q = try ReportFixtures.qparams()
        #expect(throws: ReportError.self) { try AuditManifest.rows(sites: [ReportFixtures.siteInfos[1]], qparams: q) }
    }

    @Test func convergenceRowsComeFromTheSidecar() throws {
        let plain = AuditManifest.convergence(try ReportFixtures.qparams(trace: false))
        #expect(plain.count == 1 && plain[0].before == 2 && plain[0].after == 0.5 && plain[0].traceLosses == nil)
        let traced = AuditManifest.convergence(try ReportFixtures.qparams(trace: true))
        #expect(traced[0].traceLosses == [2, 1, 0.5] && traced[0].traceIterations == [0, 1, 2])
        #expect(AuditManifest.certificates(try ReportFixtures.qparams()).isEmpty)
    }

    @Test func qparamsWithoutNewFieldsStillDecodeAndEncodeWithoutThem() throws {
        let q = try ReportFixtures.qparams(trace: false)
        #expect(q.sites.allSatisfy { $0.convergence == nil && $0.solveCertificate == nil })
        let json = String(decoding: try JSONEncoder().encode(q), as: UTF8.self)
        #expect(!json.contains("convergence") && !json.contains("solveCertificate"))
    }

    @Test func weightSQNRMatchesAHandComputation() throws {
        let q = try ReportFixtures.qparams()
        let s = q.sites[0], l = try #require(s.layer)
        let qw = try l.quantizedWeight()
        var sig = 0.0, noise = 0.0
        for i in l.weight.indices { let w = Double(l.weight[i]); sig += w * w; noise += pow(w - Double(qw[i]), 2) }
        let db = try #require(try AuditManifest.weightSQNR(s))
        #expect(abs(db - 10 * log10(sig / noise)) < 1e-9)
        #expect(try AuditManifest.weightSQNR(q.sites[1]) == nil)
        #expect(AuditManifest.sqnrDB(signal: 1, noise: 0) == .infinity && AuditManifest.sqnrDB(signal: 0, noise: 1) == nil)
    }

    @Test func verdictsFromGoldenFormat() throws {
        let data = Data("""
        {"id": "checker-results", "values": {"O1.verdict": "refuted", "O1.reproduced": "yes", "T1.verdict": "refuted",
         "T1.reproduced": "no", "T1.ratio": 3.5, "quantizer.verdict": "holds"}}
        """.utf8)
        let t = try VerdictTable.parse(data, source: "g.json")
        #expect(t.rows.map(\.claim) == ["T1", "O1", "quantizer"])
        #expect(t.rows.map(\.reproduced) == ["no", "yes", nil])
        #expect(t.source.contains("golden"))
    }

    @Test func verdictsFromVerifyReport() throws {
        let data = Data("""
        {"size": "ci", "seed": 42, "runs": [
          {"claim": "T2", "title": "x", "verdict": {"claim": "T2", "status": "holds under stated conditions", "summary": "s", "reproduce": "r"},
           "legend": [], "seconds": 1, "results": [
             {"claim": "T2", "ratio": "a", "formula": "", "value": 0.5, "threshold": 30, "epsilon": 0, "parameters": [], "expectation": "holds"},
             {"claim": "T2", "ratio": "b", "formula": "", "value": "nan", "threshold": 30, "epsilon": 0, "parameters": [], "expectation": "holds"},
             {"claim": "T2", "ratio": "c", "formula": "", "value": 99, "threshold": 30, "epsilon": 0, "parameters": [], "expectation": "refuted"},
             {"claim": "T2", "ratio": "d", "formula": "", "value": 1, "threshold": 0, "epsilon": 0, "parameters": [], "expectation": "measured"}]}]}
        """.utf8)
        let t = try VerdictTable.parse(data, source: "v.json")
        #expect(t.rows.count == 1 && t.rows[0].passed == 2 && t.rows[0].failed == 1 && t.rows[0].reproduced == "no")
        #expect(t.rows[0].verdict == "holds under stated conditions" && t.rows[0].summary == "s")
    }

    /// A run that stopped with an error counts one failure; "inf" is a number (a refuted ratio at +∞ passes); a run
    /// without verdict.status is refused, naming the file.
    @Test func verdictsFromVerifyReportErrorsAndInfinities() throws {
        let data = Data("""
        {"runs": [{"claim": "T4", "verdict": {"status": "refuted"}, "error": "boom",
                   "results": [{"value": "inf", "threshold": 1, "expectation": "refuted"}]},
                  {"claim": "T5", "verdict": {"status": "refuted"}, "results": [{"value": "inf", "threshold": 1, "expectation": "refuted"}]}]}
        """.utf8)
        let t = try VerdictTable.parse(data, source: "v.json")
        #expect(t.rows.map(\.claim) == ["T4", "T5"])
        #expect(t.rows[0].passed == 1 && t.rows[0].failed == 1 && t.rows[0].reproduced == "no" && t.rows[0].summary == nil)
        #expect(t.rows[1].passed == 1 && t.rows[1].failed == 0 && t.rows[1].reproduced == "yes")
        let e = #expect(throws: ReportError.self) { try VerdictTable.parse(Data("{\"runs\": [{\"claim\": \"T1\"}]}".utf8), source: "w.json") }
        #expect(e?.description.contains("'w.json' has a run without claim/verdict.status") == true)
    }

    @Test func verdictsRefuseOtherJSON() {
        #expect(throws: ReportError.self) { try VerdictTable.parse(Data("{\"x\": 1}".utf8), source: "x") }
        #expect(throws: ReportError.self) { try VerdictTable.parse(Data("[1]".utf8), source: "x") }
    }

    @Test func onnxReportDecodesTheAgreedFormat() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-\(UUID().uuidString).json")
        try Data("""
        {"onnxruntime": "1.20.1", "sites": [{"site": "a.b", "elements": 10, "maxAbsDiff": 2.5e-7, "tieMismatches": 1, "otherMismatches": 0}]}
        """.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let r = try ONNXMismatchReport.read(path: url.path)
        #expect(r.onnxruntime == "1.20.1" && r.sites.count == 1 && r.sites[0].tieMismatches == 1 && r.sites[0].maxAbsDiff == 2.5e-7)
        try Data("{\"sites\": 3}".utf8).write(to: url)
        #expect(throws: ReportError.self) { try ONNXMismatchReport.read(path: url.path) }
    }

    @Test func worstRegionFindsAPlantedDifference() throws {
        let w = 64, h = 48
        let truth = try RGBImage(width: w, height: h, pixels: [UInt8](repeating: 100, count: w * h * 3))
        var px = truth.pixels
        for y in 24..<40 { for x in 40..<56 { for c in 0..<3 { px[(y * w + x) * 3 + c] = 200 } } }
        let quant = try RGBImage(width: w, height: h, pixels: px)
        let r = ImageProbe.worstRegion(quantized: quant, truth: truth, size: 16)
        #expect(r.x == 40 && r.y == 24 && r.size == 16)
        #expect(ImageProbe.worstRegion(quantized: quant, truth: truth, size: 500).size == 48)
    }

    @Test func worstImageIsTheLargestDrop() throws {
        let c = ImageComparison(set: "s", scale: 2, protocolDescription: "", rows: [
            .init(name: "a", fpPSNR: 30, fpSSIM: 0.9, quantPSNR: 29, quantSSIM: 0.9),
            .init(name: "b", fpPSNR: 40, fpSSIM: 0.9, quantPSNR: 37, quantSSIM: 0.9),
            .init(name: "c", fpPSNR: 20, fpSSIM: 0.9, quantPSNR: 19.5, quantSSIM: 0.9)], crops: nil)
        #expect(c.worst?.name == "b")
    }
}

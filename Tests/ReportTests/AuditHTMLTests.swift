import Foundation
import Testing
import HarmoQReport
import SRCalibration

@Suite("Audit HTML")
struct AuditHTMLTests {
    @Test func everySectionIdIsPresentOnce() throws {
        let html = AuditHTML.render(try ReportFixtures.report())
        for id in AuditReport.sectionIDs {
            #expect(html.components(separatedBy: "<section id=\"\(id)\">").count == 2, "section \(id)")
        }
    }

    @Test func sectionsArePresentEvenWithoutOptionalData() throws {
        var r = try ReportFixtures.report(trace: false, onnx: false)
        r.images = nil; r.imagesNote = "no benchmark set given"; r.sensitivity = nil; r.sensitivityNote = "not measured (--no-sensitivity)"
        let html = AuditHTML.render(r)
        for id in AuditReport.sectionIDs { #expect(html.contains("<section id=\"\(id)\">"), "section \(id)") }
        #expect(html.contains("not recorded"))          // certificates
        #expect(html.contains("pass --onnx-report"))     // onnx
        #expect(html.contains("not measured (--no-sensitivity)"))
        #expect(html.contains("not recorded in this QPARAMS"))  // ABR traces
    }

    @Test func isSelfContained() throws {
        let html = AuditHTML.render(try ReportFixtures.report())
        #expect(!html.lowercased().contains("<script"))
        #expect(!html.lowercased().contains("<link"))
        #expect(!html.lowercased().contains("@import"))
        #expect(!html.lowercased().contains("url("))
        // every src/href is inline data or an in-page anchor
        let attr = try NSRegularExpression(pattern: "\\b(src|href)\\s*=\\s*\"([^\"]*)\"", options: [.caseInsensitive])
        let ns = html as NSString
        let matches = attr.matches(in: html, range: NSRange(location: 0, length: ns.length))
        #expect(matches.count >= 3 + AuditReport.sectionIDs.count)
        for m in matches {
            let v = ns.substring(with: m.range(at: 2))
            #expect(v.hasPrefix("data:image/png;base64,") || v.hasPrefix("#"), "external reference \(v)")
            #expect(!v.lowercased().contains("http://") && !v.lowercased().contains("https://"))
        }
    }

    @Test func cropsAreInlineBase64PNG() throws {
        let html = AuditHTML.render(try ReportFixtures.report())
        for bytes in [Data([1, 2, 3]), Data([4, 5]), Data([6])] {
            #expect(html.contains("src=\"data:image/png;base64,\(bytes.base64EncodedString())\""))
        }
    }

    @Test func siteNamesAreEscaped() throws {
        let r = try ReportFixtures.report()
        let html = AuditHTML.render(r)
        #expect(!html.contains(ReportFixtures.hostileSite))
        #expect(!html.contains("<script>alert"))
        #expect(html.contains("blocks.0 &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39; | z"))
        let md = AuditMarkdown.render(r, htmlName: "report.html")
        #expect(!md.contains("<script>"))
        #expect(md.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39; \\| z"))
    }

    @Test func everySVGIsWellFormedXML() throws {
        let html = AuditHTML.render(try ReportFixtures.report())
        let svgs = ReportFixtures.svgs(in: html)
        // sqnr, outliers, sensitivity, 3 bound histograms, convergence ratio + traces, images
        #expect(svgs.count == 9)
        for s in svgs { #expect(ElementCollector.parse(s) != nil, "malformed SVG: \(s.prefix(200))") }
    }

    @Test func markdownHasEverySectionAnchor() throws {
        let md = AuditMarkdown.render(try ReportFixtures.report(), htmlName: "report.html")
        for id in AuditReport.sectionIDs { #expect(md.contains("<a id=\"\(id)\"></a>"), "anchor \(id)") }
    }
}

@Suite("Audit refinement traces")
struct AuditRefinementTests {
    /// A refined plan's `refinements` record reaches the convergence section (HTML table + trace chart, Markdown table),
    /// survives a JSON round trip, and an unrefined plan's sidecar has no `refinements` key.
    @Test func refinementRecordIsShownAndRoundTrips() throws {
        var q = try ReportFixtures.qparams(trace: false)
        let plain = String(decoding: try JSONEncoder().encode(q), as: UTF8.self)
        #expect(!plain.contains("refinements"))
        let rec = RefinementRecord(mode: "model", settings: "4 Adam iterations", patches: 2, stages: [
            .init(name: "model", lossBefore: 4e-4, lossAfter: 3e-4, bestIteration: 4, trace: [4e-4, 3.8e-4, 3.4e-4, 3.1e-4],
                  checkpoints: [.init(iteration: 0, loss: 4e-4), .init(iteration: 4, loss: 3e-4)])])
        q.refinements = [rec]
        // (The sidecar file round trip of a real refined plan: ModelDistillationTests.)
        #expect(try JSONDecoder().decode(QParams.self, from: JSONEncoder().encode(q)).refinements == [rec])
        var r = try ReportFixtures.report(trace: false, onnx: false)
        r.refinements = [rec]
        let html = AuditHTML.render(r)
        #expect(html.contains("Output-level refinement 1: model") && html.contains("-25.0%"))
        #expect(html.contains("model refinement: loss per iteration"))
        let md = AuditMarkdown.render(r, htmlName: "a.html")
        #expect(md.contains("Output-level refinement 1 (model)") && md.contains("-25.0%"))
    }
}

import Foundation

/// The verdict of every claim (T1–T5, O1, quantizer), read from the golden checker results or from a
/// `harmoq verify --json` report; `source` says which.
public struct VerdictTable: Codable, Sendable {
    public struct Row: Codable, Sendable {
        public var claim: String
        public var verdict: String
        /// "yes"/"no" when the source says whether the checker reproduced its verdict; nil when unknown.
        public var reproduced: String?
        /// Passed/failed counted results (verify reports only).
        public var passed: Int?
        public var failed: Int?
        public var summary: String?
        public init(claim: String, verdict: String, reproduced: String?, passed: Int? = nil, failed: Int? = nil, summary: String? = nil) {
            self.claim = claim; self.verdict = verdict; self.reproduced = reproduced; self.passed = passed; self.failed = failed; self.summary = summary
        }
    }

    public var source: String
    public var rows: [Row]

    public init(source: String, rows: [Row]) { self.source = source; self.rows = rows }

    /// Reads either format, told apart by its keys: a golden file (`{"id": …, "values": {"T1.verdict": …}}`) or a
    /// verify report (`{"runs": [{"claim", "verdict": {"status", "summary"}, "results", "error"}]}`).
    public static func read(path: String, source: String? = nil) throws -> VerdictTable {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ReportError("verdicts: cannot read '\(path)': \(error.localizedDescription)")
        }
        return try parse(data, source: source ?? path)
    }

    public static func parse(_ data: Data, source: String) throws -> VerdictTable {
        guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ReportError("verdicts: '\(source)' is not a JSON object")
        }
        if let values = obj["values"] as? [String: Any] {
            var rows: [Row] = []
            for key in values.keys.sorted() where key.hasSuffix(".verdict") {
                let claim = String(key.dropLast(".verdict".count))
                rows.append(Row(claim: claim, verdict: "\(values[key]!)", reproduced: values[claim + ".reproduced"].map { "\($0)" }))
            }
            guard !rows.isEmpty else { throw ReportError("verdicts: golden file '\(source)' has no '<claim>.verdict' values") }
            return VerdictTable(source: "golden file \(source) (recorded results, not re-run)", rows: ordered(rows))
        }
        if let runs = obj["runs"] as? [[String: Any]] {
            var rows: [Row] = []
            for run in runs {
                guard let claim = run["claim"] as? String, let verdict = run["verdict"] as? [String: Any],
                      let status = verdict["status"] as? String else {
                    throw ReportError("verdicts: verify report '\(source)' has a run without claim/verdict.status")
                }
                var passed = 0, failed = 0
                for r in run["results"] as? [[String: Any]] ?? [] {
                    let exp = r["expectation"] as? String ?? "measured"
                    let value = number(r["value"]), threshold = number(r["threshold"])
                    switch exp {
                    case "holds": if value.isFinite && value < threshold { passed += 1 } else { failed += 1 }
                    case "refuted": if !value.isNaN && value >= threshold { passed += 1 } else { failed += 1 }
                    default: break
                    }
                }
                if run["error"] is String { failed += 1 }
                let reproduced = status != "pending" && failed == 0 && passed > 0
                rows.append(Row(claim: claim, verdict: status, reproduced: reproduced ? "yes" : "no", passed: passed, failed: failed,
                                summary: verdict["summary"] as? String))
            }
            return VerdictTable(source: "verify report \(source)", rows: ordered(rows))
        }
        throw ReportError("verdicts: '\(source)' is neither a golden checker-results file nor a `harmoq verify --json` report")
    }

    /// JSON numbers, or the strings "nan"/"inf"/"-inf" the project's encoders write.
    static func number(_ v: Any?) -> Double {
        if let d = v as? Double { return d }
        if let n = v as? NSNumber { return n.doubleValue }
        if let s = v as? String { return s == "inf" ? .infinity : s == "-inf" ? -.infinity : .nan }
        return .nan
    }

    /// T1…T5, O1, quantizer first, anything else after, by name.
    static func ordered(_ rows: [Row]) -> [Row] {
        let order = ["T1", "T2", "T3", "T4", "T5", "O1", "quantizer"]
        return rows.sorted { a, b in
            let ia = order.firstIndex(of: a.claim) ?? order.count, ib = order.firstIndex(of: b.claim) ?? order.count
            return ia != ib ? ia < ib : a.claim < b.claim
        }
    }
}

/// A one-line, user-facing error of the report writer.
public struct ReportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

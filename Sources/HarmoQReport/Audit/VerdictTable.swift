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
        let dec = JSONDecoder()
        guard let doc = try? dec.decode(Document.self, from: data) else {
            throw ReportError("verdicts: '\(source)' is not a JSON object")
        }
        if let values = doc.values {
            var rows: [Row] = []
            for key in values.keys.sorted() where key.hasSuffix(".verdict") {
                let claim = String(key.dropLast(".verdict".count))
                rows.append(Row(claim: claim, verdict: values[key]!.text, reproduced: values[claim + ".reproduced"]?.text))
            }
            guard !rows.isEmpty else { throw ReportError("verdicts: golden file '\(source)' has no '<claim>.verdict' values") }
            return VerdictTable(source: "golden file \(source) (recorded results, not re-run)", rows: ordered(rows))
        }
        if let runs = doc.runs {
            var rows: [Row] = []
            for run in runs {
                guard let claim = run.claim, let status = run.verdict?.status else {
                    throw ReportError("verdicts: verify report '\(source)' has a run without claim/verdict.status")
                }
                var passed = 0, failed = 0
                for r in run.results ?? [] {
                    let value = r.value?.number ?? .nan, threshold = r.threshold?.number ?? .nan
                    switch r.expectation ?? "measured" {
                    case "holds": if value.isFinite && value < threshold { passed += 1 } else { failed += 1 }
                    case "refuted": if !value.isNaN && value >= threshold { passed += 1 } else { failed += 1 }
                    default: break
                    }
                }
                if case .text = run.error { failed += 1 }
                let reproduced = status != "pending" && failed == 0 && passed > 0
                rows.append(Row(claim: claim, verdict: status, reproduced: reproduced ? "yes" : "no", passed: passed, failed: failed,
                                summary: run.verdict?.summary))
            }
            return VerdictTable(source: "verify report \(source)", rows: ordered(rows))
        }
        throw ReportError("verdicts: '\(source)' is neither a golden checker-results file nor a `harmoq verify --json` report")
    }

    /// What `parse` reads of either file (every field optional; the rest of the file is ignored): a golden file's
    /// `values`, or a verify report's `runs` (`CheckReport`'s JSON).
    struct Document: Decodable {
        var values: [String: Scalar]?
        var runs: [Run]?
    }

    struct Run: Decodable {
        struct Verdict: Decodable { var status: String?, summary: String? }
        struct Result: Decodable { var expectation: String?, value: Scalar?, threshold: Scalar? }
        var claim: String?
        var verdict: Verdict?
        var results: [Result]?
        var error: Scalar?
    }

    /// A JSON value as the project's encoders write it: a string, a number (non-finite ones as "nan"/"inf"/"-inf"), a
    /// boolean, or anything else.
    enum Scalar: Decodable {
        case text(String), number(Double), flag(Bool), other

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let b = try? c.decode(Bool.self) { self = .flag(b) }
            else if let d = try? c.decode(Double.self) { self = .number(d) }
            else if let s = try? c.decode(String.self) { self = .text(s) }
            else { self = .other }
        }

        var text: String {
            switch self {
            case .text(let s): return s
            case .number(let d): return "\(d)"
            case .flag(let b): return "\(b)"
            case .other: return ""
            }
        }

        /// Numbers, and the strings "inf"/"-inf" (any other string: NaN).
        var number: Double {
            switch self {
            case .number(let d): return d
            case .text(let s): return s == "inf" ? .infinity : s == "-inf" ? -.infinity : .nan
            case .flag, .other: return .nan
            }
        }
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

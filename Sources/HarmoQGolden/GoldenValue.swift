import Foundation

/// One golden value: a number (compared with a tolerance) or a text (compared exactly).
public enum GoldenValue: Codable, Equatable, Sendable, CustomStringConvertible {
    case number(Double)
    case text(String)

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let d = try? c.decode(Double.self) { self = .number(d); return }
        let s = try c.decode(String.self)
        switch s {   // non-finite numbers are stored as tagged strings
        case "#nan": self = .number(.nan)
        case "#inf": self = .number(.infinity)
        case "#-inf": self = .number(-.infinity)
        default: self = .text(s)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .number(let d):
            if d.isNaN { try c.encode("#nan") } else if d.isInfinite { try c.encode(d > 0 ? "#inf" : "#-inf") } else { try c.encode(d) }
        case .text(let s): try c.encode(s)
        }
    }

    public var description: String {
        switch self {
        case .number(let d): return String(format: "%.10g", d)
        case .text(let s): return "\"\(s)\""
        }
    }
}

/// Pass when |got − expected| ≤ absolute + relative·|expected| (numbers); texts must be equal.
public struct GoldenTolerance: Codable, Equatable, Sendable, CustomStringConvertible {
    public var absolute: Double
    public var relative: Double
    public init(absolute: Double, relative: Double) { self.absolute = absolute; self.relative = relative }
    public static let exact = GoldenTolerance(absolute: 0, relative: 0)

    public func accepts(_ got: GoldenValue, _ expected: GoldenValue) -> Bool {
        switch (got, expected) {
        case (.text(let a), .text(let b)): return a == b
        case (.number(let a), .number(let b)):
            if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
            if a.isInfinite || b.isInfinite { return a == b }
            return abs(a - b) <= absolute + relative * abs(b)
        default: return false
        }
    }

    public var description: String {
        self == .exact ? "exact" : "abs \(absolute) + rel \(relative)"
    }
}

/// The content of one golden file: sorted key → value.
public struct GoldenFile: Codable, Equatable, Sendable {
    public var id: String
    public var values: [String: GoldenValue]
    public init(id: String, values: [String: GoldenValue]) { self.id = id; self.values = values }

    public func encoded() throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        var d = try enc.encode(self)
        d.append(0x0A)
        return d
    }
}

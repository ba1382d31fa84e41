import CGSL

/// A GSL routine returned a non-success status (GSL's abort-on-error handler is switched off).
public struct GSLError: Error, CustomStringConvertible, Sendable {
    public let code: Int32
    public let function: String
    public var description: String {
        let reason = gsl_strerror(code).map { String(cString: $0) } ?? "unknown error"
        return "\(function) failed: \(reason) (\(code))"
    }
}

/// Shape or argument errors detected before calling GSL.
public struct OracleArgumentError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}

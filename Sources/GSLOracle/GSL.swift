import CGSL

/// Namespace for the GSL-backed Float64 oracle. Every entry point switches GSL's abort() handler off (once,
/// process-wide), checks every return code and throws `GSLError` instead.
public enum GSL {
    /// Turns GSL's default error handler (which calls abort()) off. Idempotent, thread-safe (static let).
    static let handlerOff: Void = { _ = gsl_set_error_handler_off() }()

    @inline(__always) static func begin() { _ = handlerOff }

    static func check(_ rc: Int32, _ fn: String) throws {
        if rc != Int32(GSL_SUCCESS) { throw GSLError(code: rc, function: fn) }
    }

    /// gsl_matrix view aliasing `m`'s storage for the duration of `body` (tda == cols). GSL may overwrite it.
    static func withMatrix<R>(_ m: inout OracleMatrix, _ body: (UnsafeMutablePointer<gsl_matrix>) throws -> R) rethrows -> R {
        let rows = m.rows, cols = m.cols
        return try m.data.withUnsafeMutableBufferPointer { buf in
            var view = gsl_matrix_view_array(buf.baseAddress, rows, cols)
            return try withUnsafeMutablePointer(to: &view.matrix) { try body($0) }
        }
    }

    static func withVector<R>(_ v: inout [Double], _ body: (UnsafeMutablePointer<gsl_vector>) throws -> R) rethrows -> R {
        let n = v.count
        return try v.withUnsafeMutableBufferPointer { buf in
            var view = gsl_vector_view_array(buf.baseAddress, n)
            return try withUnsafeMutablePointer(to: &view.vector) { try body($0) }
        }
    }

    static func requireNonEmpty(_ m: OracleMatrix, _ what: String) throws {
        if m.rows == 0 || m.cols == 0 { throw OracleArgumentError("\(what): empty matrix \(m.rows)x\(m.cols)") }
    }
}

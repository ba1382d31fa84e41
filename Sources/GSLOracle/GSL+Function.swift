import CGSL

/// Carries a Swift closure through gsl_function's `void *params`; a thrown error is kept and rethrown.
final class FunctionBox {
    let f: (Double) throws -> Double
    var error: Error?
    var evaluations = 0
    init(_ f: @escaping (Double) throws -> Double) { self.f = f }
}

extension GSL {
    /// Calls `body` with a gsl_function that evaluates `f`. Errors thrown by `f` make it return NaN and are rethrown.
    static func withFunction<R>(_ f: @escaping (Double) throws -> Double,
                                _ body: (UnsafeMutablePointer<gsl_function>, FunctionBox) throws -> R) throws -> R {
        let box = FunctionBox(f)
        let unmanaged = Unmanaged.passRetained(box)
        defer { unmanaged.release() }
        var fn = gsl_function(function: { x, params in
            let box = Unmanaged<FunctionBox>.fromOpaque(params!).takeUnretainedValue()
            box.evaluations += 1
            if box.error != nil { return .nan }
            do { return try box.f(x) } catch { box.error = error; return .nan }
        }, params: unmanaged.toOpaque())
        let r = try withUnsafeMutablePointer(to: &fn) { try body($0, box) }
        if let e = box.error { throw e }
        return r
    }
}

import SRIO

/// dL/d every parameter by official state-dict name, accumulated by the backward passes.
public final class ParameterGradients {
    final class Slot {
        let shape: [Int]
        var data: [Float]
        init(shape: [Int]) { self.shape = shape; data = [Float](repeating: 0, count: shape.reduce(1, *)) }
    }

    private var slots: [String: Slot] = [:]

    public init() {}

    /// Registers a parameter (zero gradient); registering twice keeps the first.
    func register(_ name: String, shape: [Int]) {
        if slots[name] == nil { slots[name] = Slot(shape: shape) }
    }

    /// Runs `body` on the gradient buffer of `name` (registered beforehand).
    func with<T>(_ name: String, _ body: (UnsafeMutablePointer<Float>) -> T) -> T {
        guard let s = slots[name] else { preconditionFailure("ParameterGradients: unregistered parameter \(name)") }
        return s.data.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }

    /// Adds v elementwise into the gradient of `name`.
    func add(_ name: String, _ v: [Float]) {
        with(name) { p in for i in 0..<v.count { p[i] += v[i] } }
    }

    public var names: [String] { slots.keys.sorted() }

    /// The gradient of `name` in the parameter's shape, or nil for an unknown name.
    public subscript(name: String) -> Tensor? {
        slots[name].map { Tensor(shape: $0.shape, data: $0.data) }
    }

    /// Every gradient to zero (between training steps).
    public func zero() {
        for s in slots.values { for i in 0..<s.data.count { s.data[i] = 0 } }
    }
}

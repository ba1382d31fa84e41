/// A dense, row-major float32 tensor on the host.
///
/// Shape letters used across the project: B, C, H, W for images (NCHW, B = 1 in practice),
/// N tokens and D channels for token matrices (N×D, row-major: token n at `data[n*D ..< (n+1)*D]`).
public struct Tensor: Equatable, Sendable {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count,
                     "Tensor: shape \(shape) needs \(shape.reduce(1, *)) elements, got \(data.count)")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: [Int]) {
        self.shape = shape
        self.data = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    public var count: Int { data.count }
    public var rank: Int { shape.count }

    /// Same data, new shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, data: data)
    }

    /// Largest absolute elementwise difference; shapes must agree.
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "maxAbsDifference: shape \(shape) vs \(other.shape)")
        var m: Float = 0
        for i in 0..<data.count { m = Swift.max(m, abs(data[i] - other.data[i])) }
        return m
    }
}

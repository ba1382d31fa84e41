/// A user-facing problem with quantizer parameters or inputs (bits out of range, α ≥ β, NaN, shape mismatch…).
/// The message names the parameter and the offending value.
public struct QuantError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

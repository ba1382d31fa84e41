/// Every malformed-input problem in SRIO surfaces as one of these, with a message that names
/// the file, the key or the field at fault. Nothing in the readers traps on bad input.
public struct IOError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

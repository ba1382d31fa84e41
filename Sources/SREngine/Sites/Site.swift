/// A quantizable operation of a model, named by a stable dotted path (the PyTorch module path of
/// the Linear, or of the attention module plus `.q`, `.k`, `.v`, `.probs` for matmul operands).
public struct Site: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    public let kind: SiteKind

    public init(name: String, kind: SiteKind) {
        self.name = name
        self.kind = kind
    }

    public var description: String { "\(name) [\(kind)]" }

    /// True for Linear sites (input activation and weight are both quantizable).
    public var isLinear: Bool { if case .linear = kind { return true } else { return false } }
}

public enum SiteKind: Hashable, Sendable, CustomStringConvertible {
    /// Input activation (tokens × inFeatures) and weight (outFeatures × inFeatures) of a Linear.
    case linear(inFeatures: Int, outFeatures: Int)
    /// An activation-only operand of an attention matmul (q after its scale, k, v, probabilities).
    case matmulOperand

    public var description: String {
        switch self {
        case let .linear(i, o): return "linear \(i)->\(o)"
        case .matmulOperand: return "matmul operand"
        }
    }
}

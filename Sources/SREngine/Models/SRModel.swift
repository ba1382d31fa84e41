import SRIO

/// The architectures the engine runs.
public enum Architecture: String, Sendable, Codable {
    case swinIRLight = "SwinIR-light"
    case datLight = "DAT-light"
}

/// Receives named intermediate tensors during a forward, in the layouts of ../shared/reference
/// (NCHW for images, (1, L, C) for tokens). Only used by conformance tests and debugging.
public typealias StageSink = (String, Tensor) -> Void

/// A super-resolution model with named quantization sites.
public protocol SRModel: AnyObject {
    var architecture: Architecture { get }
    var scale: Int { get }
    /// Quantization sites in execution order.
    var sites: [Site] { get }
    /// nil: no hook calls at all.
    var hook: ActivationHook? { get set }
    /// nil: the float GEMM at every Linear site. Otherwise offered each Linear site's (hooked) input first.
    var linearExecutor: LinearExecutor? { get set }
    /// nil: attention matmuls in float (q, k, v, probs quantized, if at all, by the hook). Otherwise q·kᵀ and P·V of the
    /// operand sites it runs are computed in the code domain or in integers (`OperandProductExecutor`).
    var operandExecutor: OperandProductExecutor? { get set }
    /// (1, 3, H, W) RGB in [0, 1] → (1, 3, H·s, W·s), not clamped (the official return value).
    func forward(_ input: Tensor, stages: StageSink?) throws -> Tensor
    /// A Linear site's current weight (out × in) and bias.
    func linearWeight(_ site: Site) throws -> (weight: Tensor, bias: Tensor?)
    /// Installs a new weight (out × in) for a Linear site (e.g. fake-quantized or corrected).
    func setLinearWeight(_ site: Site, _ weight: Tensor) throws
    /// Installs a new bias for a Linear site that has one (a plan whose rotations are folded into the weight rows).
    func setLinearBias(_ site: Site, _ bias: Tensor) throws
    /// Puts every Linear weight and bias back to the loaded values.
    func restoreOriginalWeights()
}

extension SRModel {
    public func forward(_ input: Tensor) throws -> Tensor { try forward(input, stages: nil) }

    /// The site with this name, or an error listing how to find names.
    public func site(named name: String) throws -> Site {
        guard let s = sites.first(where: { $0.name == name }) else {
            throw EngineError("no site named '\(name)' in this \(architecture.rawValue) model (see `harmoq inspect`)")
        }
        return s
    }
}

/// Errors of the engine (bad input, bad weights files).
public struct EngineError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}

/// A fake quantizer that can sit at a quantization site of the backward-capable forward
/// (`DATLightTape`, window attention, SwinIR's backward): forward x → Q(x), backward g → dL/dx, while
/// accumulating dL/d(its own parameters, e.g. the clipping bounds) inside the quantizer.
///
/// Sites are those of the engine (`model.sites`): the input of every Linear (rows = tokens, cols = in
/// features), the attention operands q (after the scale), k, v and probs in the layouts of
/// `SiteLayout.describe`, and — for weight quantizers — a Linear weight (rows = out, cols = in).
/// Both calls get the whole site matrix at once, from one thread; an implementation may parallelise inside
/// but its results (and accumulated parameter gradients) must not depend on `Parallel.threads`.
public protocol DifferentiableSiteQuantizer: AnyObject {
    /// y = Q(x) elementwise over a row-major rows × cols matrix. `y` may be the same memory as `x`.
    func quantize(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, cols: Int)

    /// dx = dL/dx from x (the values `quantize` saw) and dy = dL/dQ(x); adds dL/d(parameters) to the
    /// quantizer's own accumulators. `dx` may be the same memory as `dy`.
    func backward(input x: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>,
                  gradInput dx: UnsafeMutablePointer<Float>, rows: Int, cols: Int)
}

/// Q(x) = x, dL/dx = dL/dQ(x): the FP model (and a test double for the plumbing).
public final class IdentitySiteQuantizer: DifferentiableSiteQuantizer {
    public init() {}

    public func quantize(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        if UnsafePointer(y) != x { y.update(from: x, count: rows * cols) }
    }

    public func backward(input x: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>,
                         gradInput dx: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        if UnsafePointer(dx) != dy { dx.update(from: dy, count: rows * cols) }
    }
}

/// Quantizers by site name: activation quantizers keyed by `Site.name` (Linear inputs and attention operands),
/// weight quantizers keyed by the Linear site's name. A missing entry means FP (no quantizer) at that site.
/// With split qkv sites (`….attn.qkv.q/.k/.v`) present, the qkv Linear is treated as three 60 → 60 parts,
/// as the engine does with `splitQKV: true`.
public struct SiteQuantizers {
    public var activation: [String: DifferentiableSiteQuantizer]
    public var weight: [String: DifferentiableSiteQuantizer]

    public init(activation: [String: DifferentiableSiteQuantizer] = [:], weight: [String: DifferentiableSiteQuantizer] = [:]) {
        self.activation = activation
        self.weight = weight
    }

    public static let none = SiteQuantizers()

    public var isEmpty: Bool { activation.isEmpty && weight.isEmpty }
}

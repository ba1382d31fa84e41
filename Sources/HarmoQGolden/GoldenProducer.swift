/// Where a golden file's values come from.
public enum GoldenKind: String, Codable, Sendable {
    /// Expected values come from outside this project (official PyTorch code, GSL, onnxruntime);
    /// `golden update` never rewrites them from our own output.
    case independentReference = "independent reference"
    /// A snapshot of this project's own output, kept to catch unintended changes.
    case selfRegression = "self-regression"
}

/// Context for producers: where the shared data and the repository live.
public struct GoldenContext: Sendable {
    public var repoRoot: String
    public var sharedDir: String
    public init(repoRoot: String, sharedDir: String) { self.repoRoot = repoRoot; self.sharedDir = sharedDir }
}

/// Thrown by a producer whose inputs are absent (e.g. ../shared missing): reported as SKIPPED, never as passed.
public struct GoldenUnavailable: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// One golden file's producer. `produce` computes this project's values now; for an independent
/// reference `expected` returns the outside values (the file stores those, and `update` refreshes them
/// only from `expected`, never from `produce`).
public protocol GoldenProducer: Sendable {
    var id: String { get }
    var what: String { get }
    var producer: String { get }
    var kind: GoldenKind { get }
    var tolerance: GoldenTolerance { get }
    /// Per-key tolerance override (e.g. PSNR vs SSIM keys).
    func tolerance(for key: String) -> GoldenTolerance
    func produce(_ ctx: GoldenContext) throws -> [String: GoldenValue]
    func expected(_ ctx: GoldenContext) throws -> [String: GoldenValue]
    /// Stored values this context cannot reproduce because their inputs are absent (e.g. no ../shared in a fresh
    /// clone); nil when every value can be compared. Those values are reported as skipped, never compared.
    func unavailable(_ ctx: GoldenContext) -> GoldenSkip?
}

/// Part of a golden file that cannot be checked here, and why.
public struct GoldenSkip: Sendable {
    public let reason: String
    public let skips: @Sendable (String) -> Bool
    public init(reason: String, skips: @escaping @Sendable (String) -> Bool) { self.reason = reason; self.skips = skips }
}

extension GoldenProducer {
    public func tolerance(for key: String) -> GoldenTolerance { tolerance }
    public func expected(_ ctx: GoldenContext) throws -> [String: GoldenValue] { try produce(ctx) }
    public func unavailable(_ ctx: GoldenContext) -> GoldenSkip? { nil }
    public var fileName: String { id + ".json" }
}

import SREngine
import SRIO

/// An `ActivationHook` that records the input activation of every Linear site (read only).
public final class LinearInputCapture: ActivationHook {
    public struct Captured: Sendable {
        public let site: Site
        public let rows: Int
        public let cols: Int
        public let values: [Float]
    }

    /// In execution order, one entry per Linear site call.
    public private(set) var captured: [Captured] = []

    public init() {}

    public func process(site: Site, index: Int, values: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int) {
        guard site.isLinear else { return }
        captured.append(Captured(site: site, rows: rows, cols: cols, values: Array(values)))
    }

    /// Runs `model` on `input` with this hook installed (the previous hook is put back) and returns the captures.
    public static func capture(_ model: any SRModel, input: SRIO.Tensor) throws -> [Captured] {
        let cap = LinearInputCapture()
        let previous = model.hook
        model.hook = cap
        defer { model.hook = previous }
        _ = try model.forward(input)
        return cap.captured
    }
}

import Foundation
import HarmoQ

/// Integer codes and dequantized values of the core quantizer on a fixed input grid, for bits
/// {1, 2, 3, 4, 8}, both schemes and both rounding modes (self-regression, exact).
public struct QuantizerTablesGolden: GoldenProducer {
    public init() {}
    public let id = "quantizer-tables"
    public let what = "core Quantizer codes and x̂ on 33 inputs in [−2, 2] (step 1/8: ties included) × bits {1,2,3,4,8} × {symmetric, affine} × {half-even, half-away}; bounds [−1.5, 1.5] (symmetric) and [−1, 2] (affine)"
    public var producer: String { "harmoq \(GoldenInfo.toolVersion) (Sources/HarmoQ/Quantization)" }
    public let kind = GoldenKind.selfRegression
    public let tolerance = GoldenTolerance.exact

    public func produce(_ ctx: GoldenContext) throws -> [String: GoldenValue] {
        var v: [String: GoldenValue] = [:]
        for scheme in QuantScheme.allCases {
            for rounding in Rounding.allCases {
                for bits in [1, 2, 3, 4, 8] {
                    let (lo, hi): (Float, Float) = scheme == .symmetric ? (-1.5, 1.5) : (-1, 2)
                    let q = try Quantizer(bits: bits, lower: lo, upper: hi, scheme: scheme, rounding: rounding)
                    for i in 0...32 {
                        let x = Float(i - 16) / 8
                        let key = "\(scheme.rawValue).\(rounding.rawValue).b\(bits).x\(String(format: "%+.3f", x))"
                        v[key + ".code"] = .number(Double(q.code(x)))
                        v[key + ".value"] = .number(Double(q.fakeQuant(x)))
                    }
                }
            }
        }
        return v
    }
}

public enum GoldenInfo {
    /// Version recorded in the manifest; the CLI passes its own.
    nonisolated(unsafe) public static var toolVersion = "0.1.0"
}

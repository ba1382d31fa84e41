/// How a value exactly halfway between two grid points is resolved.
///
/// `halfToEven` is the default: it is what `torch.round`, NumPy and ONNX `QuantizeLinear` do
/// (the paper's table: "round-to-nearest-even (banker's rounding)").
public enum Rounding: String, Codable, Sendable, CaseIterable {
    case halfToEven
    case halfAwayFromZero

    /// Rounds to an integer-valued Float.
    @inline(__always)
    public func apply(_ v: Float) -> Float {
        switch self {
        case .halfToEven:
            if _slowPath(ShippedMutant.active == .quantizerRoundHalfUp) { return (v + 0.5).rounded(.down) }
            return v.rounded(.toNearestOrEven)
        case .halfAwayFromZero: return v.rounded(.toNearestOrAwayFromZero)
        }
    }
}

/// Which grid a bounded quantizer uses.
public enum QuantScheme: String, Codable, Sendable, CaseIterable {
    /// Zero-point 0 (paper's implementation table): q = clip(round(x/Δ), −2^(b−1), 2^(b−1)−1), x̂ = q·Δ.
    case symmetric
    /// Affine grid on [α, β] as 2DQuant's code does it: x̂ = Δ·round((clip(x,α,β)−α)/Δ) + α.
    case affine
}

/// Which derivative of the quantizer a gradient uses.
public enum GradientMode: String, Codable, Sendable, CaseIterable {
    /// Straight-through / LSQ surrogate: d round(v)/dv := 1.
    case ste
    /// The almost-everywhere derivative of the real, piecewise-constant quantizer: d round(v)/dv = 0.
    case exact
}

/// Where an affine grid puts its zero point.
public enum ZeroPoint: String, Codable, Sendable, CaseIterable {
    /// z = −α/Δ as a float (2DQuant's grid: x̂ = Δ·round((clip(x,α,β) − α)/Δ) + α); real 0 is generally not a grid point,
    /// so no integer runtime or ONNX QDQ graph holds it exactly.
    case float
    /// z = round(−α/Δ), an integer code (the standard asymmetric scheme): `Quantizer(integerZeroPoint: true)`.
    case integer
}

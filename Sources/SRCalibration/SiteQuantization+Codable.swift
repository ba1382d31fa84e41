import HarmoQ

/// The JSON form of a site in the `harmoq-qparams/1` layout (the site's activation grid at the site, a linear site's
/// again in `layer`), as format-1 sidecars and test fixtures hold it. QPARAMS files are written in format 2
/// (`QParamsSidecar`); format-1 files are read through `QParams.readV1`, which names each copy that disagrees.
///
/// Decoding keeps the grid once (`SiteQuantization`): a linear site's two copies must be the same grid, else it is a
/// decoding error naming the site.
extension SiteQuantization: Codable {
    enum CodingKeys: String, CodingKey {
        case name, kind, activationQuantized, weightQuantized, activationBits, activationScheme, rounding, activationLower,
             activationUpper, activationIntegerZeroPoint, layer, before, after, convergence, solveCertificate, rotation
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let name = try c.decode(String.self, forKey: .name)
        let grid = ActivationQuantizerPlan(bits: try c.decode(Int.self, forKey: .activationBits),
                                           scheme: try c.decode(QuantScheme.self, forKey: .activationScheme),
                                           rounding: try c.decode(Rounding.self, forKey: .rounding),
                                           integerZeroPoint: try c.decodeIfPresent(Bool.self, forKey: .activationIntegerZeroPoint) == true,
                                           lower: try c.decode(Float.self, forKey: .activationLower),
                                           upper: try c.decode(Float.self, forKey: .activationUpper))
        let activationQuantized = try c.decode(Bool.self, forKey: .activationQuantized)
        if let layer = try c.decodeIfPresent(LayerQuantization.self, forKey: .layer) {
            guard Self.sameGrid(layer.activationPlan, grid) else {
                throw DecodingError.dataCorruptedError(forKey: .layer, in: c, debugDescription:
                    "site \(name): the layer's activation grid \(layer.activationPlan) differs from the site's \(grid)")
            }
            self.init(linear: name, layer: layer, activationQuantized: activationQuantized, weightQuantized: false)
        } else {
            self.init(operand: name, activation: grid, activationQuantized: activationQuantized)
        }
        kind = try c.decode(Kind.self, forKey: .kind)
        weightQuantized = try c.decode(Bool.self, forKey: .weightQuantized)
        before = try c.decodeIfPresent(LayerLosses.self, forKey: .before)
        after = try c.decodeIfPresent(LayerLosses.self, forKey: .after)
        convergence = try c.decodeIfPresent(ConvergenceTrace.self, forKey: .convergence)
        solveCertificate = try c.decodeIfPresent(SolveCertificate.self, forKey: .solveCertificate)
        rotation = try c.decodeIfPresent(SiteRotation.self, forKey: .rotation)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(kind, forKey: .kind)
        try c.encode(activationQuantized, forKey: .activationQuantized)
        try c.encode(weightQuantized, forKey: .weightQuantized)
        let g = activationGrid
        try c.encode(g.bits, forKey: .activationBits)
        try c.encode(g.scheme, forKey: .activationScheme)
        try c.encode(g.rounding, forKey: .rounding)
        try c.encode(g.lower, forKey: .activationLower)
        try c.encode(g.upper, forKey: .activationUpper)
        try c.encodeIfPresent(activationIntegerZeroPoint, forKey: .activationIntegerZeroPoint)
        try c.encodeIfPresent(layer, forKey: .layer)
        try c.encodeIfPresent(before, forKey: .before)
        try c.encodeIfPresent(after, forKey: .after)
        try c.encodeIfPresent(convergence, forKey: .convergence)
        try c.encodeIfPresent(solveCertificate, forKey: .solveCertificate)
        try c.encodeIfPresent(rotation, forKey: .rotation)
    }

    /// The same grid, bounds compared bit for bit (a NaN bound read from "nan" equals itself; `checkFinite` refuses it).
    static func sameGrid(_ a: ActivationQuantizerPlan, _ b: ActivationQuantizerPlan) -> Bool {
        a.bits == b.bits && a.scheme == b.scheme && a.rounding == b.rounding && a.integerZeroPoint == b.integerZeroPoint
            && a.lower.bitPattern == b.lower.bitPattern && a.upper.bitPattern == b.upper.bitPattern
    }
}

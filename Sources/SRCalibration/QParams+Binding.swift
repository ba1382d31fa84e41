import HarmoQ

/// A QPARAMS is bound to the model it was calibrated on: architecture, scale and weight fingerprint
/// (`ModelFingerprint`). Applying it to another model is refused, naming both, unless the caller allows it
/// (`--allow-model-mismatch`), which turns the refusal into a warning.
extension QParams {
    /// Every way `m` differs from the model this plan was calibrated on (empty: the same model, as far as recorded).
    public func modelMismatches(_ m: ModelIdentity) -> [String] {
        var d: [String] = []
        if architecture != m.architecture { d.append("architecture \(architecture) vs \(m.architecture)") }
        if scale != m.scale { d.append("scale ×\(scale) vs ×\(m.scale)") }
        if let f = modelFingerprint, f != m.fingerprint { d.append("weights \(f) vs \(m.fingerprint)") }
        return d
    }

    /// The model this plan records, for messages.
    public var calibratedOn: String {
        "\(architecture) ×\(scale) '\(model)' (\(modelFingerprint.map(ModelIdentity.short) ?? "no weight fingerprint"))"
    }

    /// Throws when `m` is not the model this plan was calibrated on, naming both; with `allowMismatch` it warns instead.
    /// A plan without a fingerprint (format 1) is checked on architecture and scale only, with a warning that it is unbound.
    public func checkBinding(to m: ModelIdentity, source: String, allowMismatch: Bool, warn: (String) -> Void) throws {
        let d = modelMismatches(m)
        if !d.isEmpty {
            let msg = "QPARAMS '\(source)' was calibrated on \(calibratedOn), not on the model \(m.text): \(d.joined(separator: "; "))"
            guard allowMismatch else { throw QuantError(msg + " (pass --allow-model-mismatch to apply it anyway)") }
            warn("warning: " + msg + "; applying it anyway (--allow-model-mismatch)")
        }
        if modelFingerprint == nil {
            warn("warning: QPARAMS '\(source)' (\(format)) records no weight fingerprint, so it is not bound to its model: only "
                 + "architecture and scale were checked against \(m.text); recalibrate to bind it")
        }
    }

    /// Reads `path` and checks that it belongs to the model `m` (see `checkBinding`).
    public static func read(path: String, for m: ModelIdentity, allowMismatch: Bool = false,
                            warn: (String) -> Void) throws -> QParams {
        let q = try read(path: path)
        try q.checkBinding(to: m, source: path, allowMismatch: allowMismatch, warn: warn)
        return q
    }
}

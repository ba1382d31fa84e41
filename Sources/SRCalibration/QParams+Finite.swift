import HarmoQ

extension QParams {
    /// Throws, naming the site and tensor, when a quantization parameter that the model would use is NaN or ±Inf:
    /// activation bounds (quantized inputs), weight bounds (quantized weights), the stored weight and HSO input scales.
    /// Diagnostics (L_total before/after) may be infinite and are not checked.
    func checkFinite(_ context: String) throws {
        func check(_ values: [Float], _ site: String, _ tensor: String) throws {
            guard let i = values.firstIndex(where: { !$0.isFinite }) else { return }
            throw QuantError("\(context): site \(site): \(tensor) holds a non-finite value (\(values[i]) at index \(i)); "
                             + "a QPARAMS file must never carry NaN/Inf")
        }
        for s in sites {
            if s.activationQuantized { try check([s.activationLower, s.activationUpper], s.name, "activation_bounds") }
            guard let l = s.layer else { continue }
            try check(l.weight, s.name, "weight")
            if s.weightQuantized {
                try check(l.weightLower, s.name, "weight_lower")
                try check(l.weightUpper, s.name, "weight_upper")
            }
            if let sc = l.inputScale { try check(sc, s.name, "input_scale") }
            if let b = l.bias { try check(b, s.name, "bias") }
        }
    }
}

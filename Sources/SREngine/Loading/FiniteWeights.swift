import SRIO

/// The check that a model's weights hold no NaN or ±Inf: a non-finite weight would propagate silently through every
/// forward and into a calibration, so models are refused at load, naming the tensor.
public enum FiniteWeights {
    /// Throws for the first tensor (in key order) holding a NaN or ±Inf, with its name, the count and the first index.
    public static func check(_ weights: [String: Tensor], source: String) throws {
        for key in weights.keys.sorted() {
            let data = weights[key]!.data
            guard let i = data.firstIndex(where: { !$0.isFinite }) else { continue }
            let n = data.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
            throw EngineError("\(source): tensor '\(key)' holds \(n) non-finite value(s) (first at flat index \(i): \(data[i])); "
                              + "refusing to load it")
        }
    }
}

import SRIO

/// A state dict being consumed by a model builder: records every missing, mis-shaped and unused key
/// so that one error can name them all.
final class WeightStore {
    private let tensors: [String: Tensor]
    private var used: Set<String> = []
    private var problems: [String] = []

    init(_ tensors: [String: Tensor]) { self.tensors = tensors }

    func has(_ key: String) -> Bool { tensors[key] != nil }

    /// The tensor under `key` with exactly `shape` (a zero placeholder and a recorded problem otherwise).
    func take(_ key: String, _ shape: [Int]) -> Tensor {
        used.insert(key)
        guard let t = tensors[key] else {
            problems.append("missing key '\(key)' (expected shape \(shape))")
            return Tensor(zeros: shape)
        }
        guard t.shape == shape else {
            problems.append("key '\(key)' has shape \(t.shape), expected \(shape)")
            return Tensor(zeros: shape)
        }
        return t
    }

    func vector(_ key: String, _ n: Int) -> [Float] { take(key, [n]).data }

    /// Throws one error listing every problem, including keys no layer used (except `ignorable` ones).
    func finish(model: String, ignorable: (String) -> Bool) throws {
        let extra = tensors.keys.filter { !used.contains($0) && !ignorable($0) }.sorted()
        for k in extra { problems.append("unexpected key '\(k)' (shape \(tensors[k]!.shape))") }
        guard problems.isEmpty else {
            let shown = problems.prefix(20).joined(separator: "\n  ")
            let more = problems.count > 20 ? "\n  … and \(problems.count - 20) more" : ""
            throw EngineError("weights do not fit \(model):\n  \(shown)\(more)")
        }
    }
}

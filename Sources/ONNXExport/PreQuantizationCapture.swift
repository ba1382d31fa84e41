import SREngine

/// An `ActivationHook` that records each Linear site's input as the site receives it (before quantization) and
/// then hands every site to `inner` (e.g. a `QuantizedModel`), so the recorded activations are the real inputs of
/// the quantized model, quantized prefix included.
final class PreQuantizationCapture: ActivationHook {
    let inner: ActivationHook?
    /// Site name → rows × cols inputs, all calls appended (one forward per patch).
    private(set) var inputs: [String: (cols: Int, values: [Float])] = [:]

    init(inner: ActivationHook?) { self.inner = inner }

    /// Row blocks reach only the attention-probability sites, which this hook passes through untouched; Linear
    /// sites still arrive whole and in order (ActivationHook's contract).
    var acceptsRowBlocks: Bool { inner?.acceptsRowBlocks ?? false }

    func process(site: Site, index: Int, values: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int) {
        if site.isLinear {
            if var e = inputs[site.name] {
                precondition(e.cols == cols, "site \(site.name) delivered \(cols) columns after \(e.cols)")
                inputs[site.name] = nil
                e.values.append(contentsOf: values)
                inputs[site.name] = e
            } else {
                inputs[site.name] = (cols, Array(values))
            }
        }
        inner?.process(site: site, index: index, values: values, rows: rows, cols: cols)
    }
}

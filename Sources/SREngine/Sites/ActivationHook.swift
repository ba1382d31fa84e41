/// Receives every site's input activation right before the model uses it.
///
/// `index` is the site's position in `model.sites`. By default each site is delivered once per
/// forward, as one row-major `rows × cols` matrix, in `model.sites` order. The hook may read it
/// (statistics) or overwrite it (fake quantization); the model uses whatever the buffer holds when
/// the hook returns. The layout of each site is documented in docs/sites.md and by
/// `SiteLayout.describe(_:architecture:)`.
public protocol ActivationHook: AnyObject {
    func process(site: Site, index: Int, values: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int)

    /// Opt-in for elementwise hooks whose result per value does not depend on the other values
    /// (fake quantization with fixed parameters). When true, the model may deliver the large
    /// window-attention probability matrices (`….probs` of window attention) as many row blocks
    /// (one window and head at a time: rows = cols = N), **concurrently from several threads**, while
    /// they are still in cache; other sites still arrive whole and in order. Default: false.
    var acceptsRowBlocks: Bool { get }
}

extension ActivationHook {
    public var acceptsRowBlocks: Bool { false }
}

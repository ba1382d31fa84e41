/// Read-only views of derived constants that an exporter (ONNXExport's whole-model graph) needs to write the same
/// forward: what the engine precomputes from the weights at load time.
extension DATLight {
    /// The heads × N × N additive position bias of spatial block `block`, branch `branch` (0: 8×32 windows, 1: 32×8),
    /// exactly the values the engine adds to the logits inside the softmax; nil for a channel block (odd index).
    public func spatialPositionBias(block: Int, branch: Int) -> [Float]? {
        guard blocks.indices.contains(block), blocks[block].spatial, (0...1).contains(branch) else { return nil }
        return blocks[block].branchBias[branch]
    }

    /// Number of DATB blocks (18 for DAT-light).
    public var blockCount: Int { blocks.count }
}

/// Where the windows of one spatial-attention branch lie for an LR input of a given size: the engine's own
/// `WindowGeometry` (padding to a multiple of 32, roll, partition), flattened for an exporter.
public struct SpatialWindowLayout: Sendable {
    public let windowCount: Int
    /// Window height × width (tokens per window = windowH · windowW).
    public let windowH: Int, windowW: Int
    /// For window w, token t (index w·N + t): the source token index h·W + w of the unpadded grid, or nil in the padding.
    public let source: [Int?]
    /// Region labels of the shift mask (index w·N + t), or nil for an unshifted block.
    public let regions: [Int]?
    /// The attention scale head_dim^−0.5 that multiplies q.
    public let qScale: Float
    public var tokensPerWindow: Int { windowH * windowW }
}

extension SpatialWindowLayout {
    /// The layout of a window geometry (both models' spatial attention): every window token's source and, for a shifted
    /// geometry, its region label.
    init(geometry geo: WindowGeometry, qScale: Float) {
        let N = geo.tokensPerWindow, nW = geo.windowCount
        var src = [Int?](repeating: nil, count: nW * N)
        var reg: [Int]? = geo.shifted ? [Int](repeating: 0, count: nW * N) : nil
        for wi in 0..<nW { for t in 0..<N {
            src[wi * N + t] = geo.source(window: wi, token: t)
            if geo.shifted { reg![wi * N + t] = geo.region(window: wi, token: t) }
        }}
        self.init(windowCount: nW, windowH: geo.windowH, windowW: geo.windowW, source: src, regions: reg, qScale: qScale)
    }
}

extension DATLight {
    /// The window layout of spatial block `block`, branch `branch` for an H×W input (nil for a channel block).
    public func spatialWindowLayout(block: Int, branch: Int, height h: Int, width w: Int) -> SpatialWindowLayout? {
        guard blocks.indices.contains(block), blocks[block].spatial, (0...1).contains(branch), h > 0, w > 0 else { return nil }
        let blk = blocks[block]
        return SpatialWindowLayout(geometry: blk.windowGeometry(branch: branch, height: h, width: w), qScale: blk.attentionScale)
    }
}

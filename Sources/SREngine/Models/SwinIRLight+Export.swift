/// Read-only views of what an exporter (ONNXExport's whole-model SwinIR-light graph) needs to write the same forward:
/// the engine's own block structure, window geometry and precomputed position biases.
extension SwinIRLight {
    /// Blocks per residual group ([6, 6, 6, 6] for SwinIR-light).
    public var layerDepths: [Int] { layers.map(\.count) }

    /// The window side (8).
    public var windowSize: Int { window }

    /// Whether block `block` of group `layer` uses shifted windows (odd blocks); nil when there is no such block.
    public func isShifted(layer: Int, block: Int) -> Bool? {
        guard layers.indices.contains(layer), layers[layer].indices.contains(block) else { return nil }
        return layers[layer][block].shifted
    }

    /// The heads × N × N additive position bias (N = 64) of block `block` of group `layer`: exactly the values the engine
    /// adds to the logits inside the softmax.
    public func positionBias(layer: Int, block: Int) -> [Float]? {
        guard layers.indices.contains(layer), layers[layer].indices.contains(block) else { return nil }
        return layers[layer][block].bias
    }

    /// The window layout of block `block` of group `layer` on the reflect-padded `height` × `width` grid
    /// (`paddedSize`): the engine's `WindowGeometry` (roll by −window/2 in shifted blocks, partition into 8×8 windows),
    /// flattened. No token lies in padding (the image itself is padded), so every `source` entry is set.
    public func windowLayout(layer: Int, block: Int, height h: Int, width w: Int) -> SpatialWindowLayout? {
        guard layers.indices.contains(layer), layers[layer].indices.contains(block), h > 0, w > 0,
              h % window == 0, w % window == 0 else { return nil }
        let blk = layers[layer][block]
        return SpatialWindowLayout(geometry: blk.windowGeometry(height: h, width: w), qScale: blk.attentionScale)
    }
}

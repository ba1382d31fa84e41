import Foundation

/// The list `harmoq inspect` prints: every site with its kind, shapes, parameter count and whether
/// it is quantized by default, plus the operations that stay in floating point.
public struct SiteManifest: Codable, Sendable {
    public struct Entry: Codable, Sendable {
        public let index: Int
        public let name: String
        /// "linear" or "matmul_operand".
        public let kind: String
        public let inFeatures: Int?
        public let outFeatures: Int?
        /// Weight [out, in] for linears, nil for operands.
        public let weightShape: [Int]?
        /// Weight + bias elements (0 for operands).
        public let parameters: Int
        /// The matrix the hook receives.
        public let activationLayout: String
        public let quantizedByDefault: Bool
    }

    public let architecture: String
    public let scale: Int
    public let sites: [Entry]
    public let floatingPointOps: [String]

    public init(model: any SRModel) {
        architecture = model.architecture.rawValue
        scale = model.scale
        sites = model.sites.enumerated().map { i, s in
            switch s.kind {
            case let .linear(inF, outF):
                let hasBias = ((try? model.linearWeight(s))?.bias) != nil
                return Entry(index: i, name: s.name, kind: "linear", inFeatures: inF, outFeatures: outF,
                             weightShape: [outF, inF], parameters: inF * outF + (hasBias ? outF : 0),
                             activationLayout: SiteLayout.describe(s, architecture: model.architecture),
                             quantizedByDefault: true)
            case .matmulOperand:
                return Entry(index: i, name: s.name, kind: "matmul_operand", inFeatures: nil, outFeatures: nil,
                             weightShape: nil, parameters: 0,
                             activationLayout: SiteLayout.describe(s, architecture: model.architecture),
                             quantizedByDefault: true)
            }
        }
        switch model.architecture {
        case .swinIRLight:
            floatingPointOps = ["conv_first", "patch_embed.norm", "norm1/norm2 LayerNorms", "relative position bias + shift mask",
                                "softmax", "GELU", "residual convs layers.*.conv", "norm", "conv_after_body",
                                "upsample.0 + PixelShuffle", "all biases"]
        case .datLight:
            floatingPointOps = ["conv_first", "before_RG LayerNorm", "norm1/norm2 LayerNorms", "dynamic position bias + shift mask",
                                "softmax", "channel temperature", "GELU", "dwconv (depthwise 3x3 + BN)",
                                "channel_interaction / spatial_interaction 1x1 convs + BN (gates)", "SGFN LayerNorm + depthwise conv",
                                "layers.0.conv (3conv)", "norm", "conv_after_body (3conv)", "upsample.0 + PixelShuffle", "all biases"]
        }
    }

    public var linearParameterCount: Int { sites.map(\.parameters).reduce(0, +) }

    /// One line per site, then a summary.
    public func text() -> String {
        var lines = ["\(architecture) x\(scale): \(sites.count) sites (\(sites.filter { $0.kind == "linear" }.count) linear, "
                     + "\(sites.filter { $0.kind == "matmul_operand" }.count) matmul operands), "
                     + "\(linearParameterCount) parameters in linear sites"]
        lines.append("idx  kind             shape        params  default  name  |  hook matrix")
        for e in sites {
            let shape = e.weightShape.map { "\($0[0])x\($0[1])" } ?? "-"
            lines.append(String(format: "%3d  ", e.index) + pad(e.kind, 15) + "  " + pad(shape, 10) + "  "
                         + String(format: "%7d  ", e.parameters) + pad(e.quantizedByDefault ? "quant" : "fp", 7) + "  "
                         + "\(e.name)  |  \(e.activationLayout)")
        }
        lines.append("kept in floating point: " + floatingPointOps.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }

    private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }

    public func jsonData() throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try enc.encode(self)
    }
}

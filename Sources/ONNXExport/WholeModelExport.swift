import Foundation
import HarmoQ
import SRCalibration
import SREngine
import SRIO

/// `harmoq export-onnx --whole-model`: the whole DAT-light or SwinIR-light forward as one ONNX graph per LR size
/// (`DATLightGraph`, `SwinIRLightGraph`),
/// FP32 or standard QDQ of a QPARAMS plan, plus (with a check set) for every image: the LR input, harmoq's own output
/// for it (FP32 forward, or the fake quantization `harmoq eval --quant` runs) and the cropped HR, so a runtime's output
/// can be compared (ci/onnx-model-check.py). Everything is indexed by `index.json`.
public enum WholeModelExport {
    public static let format = "harmoq-onnx-model/1"

    public struct Request: Sendable {
        public var modelPath: String
        public var quantPath: String?
        public var outDir: String
        /// LR sizes (height, width) to export a graph for, besides those of the check set's images.
        public var sizes: [(Int, Int)] = []
        /// A benchmark folder (HR/ + LR_bicubic/X<s>/): every image's size gets a graph, and its reference files are written.
        public var checkSet: String?
        public var limit: Int?
        public var toolVersion: String
        public var allowModelMismatch = false
        /// Also write harmoq's block outputs (the graph's `stageValues`, tokens L × 60) for the first check image (debugging).
        public var stages = false

        public init(modelPath: String, quantPath: String?, outDir: String, toolVersion: String) {
            self.modelPath = modelPath; self.quantPath = quantPath; self.outDir = outDir; self.toolVersion = toolVersion
        }
    }

    public struct GraphEntry: Codable, Sendable {
        public var file: String
        public var height: Int
        public var width: Int
        public var nodes: Int
        public var initializers: Int
        public var bytes: Int
        /// Node count per op type.
        public var ops: [String: Int]
    }

    public struct ImageEntry: Codable, Sendable {
        public var name: String
        public var height: Int
        public var width: Int
        public var graph: String
        /// (1, 3, H, W) float32 RGB in [0, 1].
        public var input: String
        /// (1, 3, sH, sW) float32, harmoq's output (not clamped).
        public var output: String
        /// sH × sW × 3 uint8 RGB, the HR cropped to the output size.
        public var hr: String
        /// PSNR-Y (border = scale) of harmoq's output, by harmoq (SRIO.PSNR).
        public var harmoqPSNRY: Double
        /// With `stages` (first image only): harmoq's intermediate tensors and the graph values that hold the same.
        public var stages: [StageEntry]?
    }

    /// One intermediate tensor of harmoq's forward (float32, the engine's stage layout) and the graph value to compare.
    public struct StageEntry: Codable, Sendable {
        public var stage: String
        public var file: String
        public var value: String
    }

    public struct Index: Codable, Sendable {
        public var format: String
        public var toolVersion: String
        public var model: String
        public var architecture: String
        public var scale: Int
        public var quant: String?
        public var method: String?
        public var bits: String?
        public var irVersion: Int
        public var opset: Int
        public var input: String
        public var output: String
        public var dataLayout: String
        public var graphs: [GraphEntry]
        public var images: [ImageEntry]
    }

    public static func run(_ r: Request, log: ((String) -> Void)? = nil) throws -> Index {
        let weights = try ModelLoader.readStateDict(path: r.modelPath)
        var model = try ModelLoader.build(weights: weights, source: r.modelPath)
        let identity = ModelIdentity(model: model, weights: weights, path: r.modelPath)
        var plan: QParams? = nil
        if let qp = r.quantPath {
            plan = try QParams.read(path: qp, for: identity, allowMismatch: r.allowModelMismatch) { log?($0) }
            if plan!.sites.contains(where: { $0.name.hasSuffix(".attn.qkv.q") }) {
                model = try ModelLoader.build(weights: weights, source: r.modelPath, options: .init(splitQKV: true))
            }
            try WholeModelQDQ.requireExportable(plan!, qp)
        }
        let meta0: [(String, String)] = [("model", r.modelPath)] + (plan.map { [("qparams", r.quantPath!), ("method", $0.method)] } ?? [])
        let graphFor: (Int, Int) throws -> ONNXModel
        let stem: String, stageValues: [(stage: String, value: String)], input: String, output: String
        switch model {
        case let dat as DATLight:
            graphFor = { [plan] h, w in try DATLightGraph.build(model: dat, weights: weights, plan: plan, height: h, width: w,
                                                                producerVersion: r.toolVersion, metadata: meta0) }
            stem = "dat-light"; stageValues = DATLightGraph.stageValues(dat)
            input = DATLightGraph.inputName; output = DATLightGraph.outputName
        case let swin as SwinIRLight:
            graphFor = { [plan] h, w in try SwinIRLightGraph.build(model: swin, weights: weights, plan: plan, height: h, width: w,
                                                                   producerVersion: r.toolVersion, metadata: meta0) }
            stem = "swinir-light"; stageValues = SwinIRLightGraph.stageValues(swin)
            input = SwinIRLightGraph.inputName; output = SwinIRLightGraph.outputName
        default:
            throw QuantError("whole-model export: no graph writer for \(model.architecture.rawValue)")
        }

        var pairs: [(name: String, lr: RGBImage, hr: RGBImage)] = []
        if let dir = r.checkSet {
            let set = try BenchmarkSet.load(dir: dir, scale: model.scale)
            let n = min(r.limit ?? set.pairs.count, set.pairs.count)
            for i in 0..<n {
                let (lr, hr) = try set.images(i)
                pairs.append((set.pairs[i].name, lr, hr))
            }
        }
        var sizes: [(Int, Int)] = []
        for s in r.sizes + pairs.map({ ($0.lr.height, $0.lr.width) }) where !sizes.contains(where: { $0 == s }) { sizes.append(s) }
        guard !sizes.isEmpty else { throw QuantError("whole-model export: give at least one --size HxW or a --check-set") }

        try FileManager.default.createDirectory(atPath: r.outDir, withIntermediateDirectories: true)
        let tag = plan.map { "w\($0.weightBits)a\($0.activationBits)-qdq" } ?? "fp32"
        var graphs: [GraphEntry] = []
        for (i, (h, w)) in sizes.enumerated() {
            let t0 = Date()
            let onnx = try graphFor(h, w)
            let bytes = onnx.serialized()
            let file = "\(stem)-x\(model.scale)-\(tag)-\(h)x\(w).onnx"
            try AtomicFile.write(Data(bytes), to: r.outDir + "/" + file)
            var ops: [String: Int] = [:]
            for n in onnx.graph.nodes { ops[n.opType, default: 0] += 1 }
            graphs.append(GraphEntry(file: file, height: h, width: w, nodes: onnx.graph.nodes.count,
                                     initializers: onnx.graph.initializers.count, bytes: bytes.count, ops: ops))
            log?(String(format: "graph %d/%d: %@ (%d nodes, %.1f MB) in %.1f s", i + 1, sizes.count, file,
                        onnx.graph.nodes.count, Double(bytes.count) / 1e6, Date().timeIntervalSince(t0)))
        }

        var images: [ImageEntry] = []
        if !pairs.isEmpty {
            if let p = plan { try QuantizedModel.apply(p, to: model) }
            let start = Date()
            for (i, pr) in pairs.enumerated() {
                let x = pr.lr.toTensor()
                var stageFiles: [StageEntry] = []
                let wanted = Dictionary(stageValues.map { ($0.stage, $0.value) }, uniquingKeysWith: { a, _ in a })
                let y = try model.forward(x, stages: r.stages && i == 0 ? { name, t in
                    if let value = wanted[name] {
                        let f = String(format: "%02d_", i) + pr.name + ".stage." + name + ".f32"
                        try? AtomicFile.write(floatBytes(t.data), to: r.outDir + "/" + f)
                        stageFiles.append(StageEntry(stage: name, file: f, value: value))
                    }
                } : nil)
                let psnr = try PSNR.y(try RGBImage(tensor: y), pr.hr, border: model.scale)
                let base = String(format: "%02d_", i) + pr.name
                try AtomicFile.write(floatBytes(x.data), to: r.outDir + "/" + base + ".lr.f32")
                try AtomicFile.write(floatBytes(y.data), to: r.outDir + "/" + base + ".\(tag).sr.f32")
                try AtomicFile.write(Data(pr.hr.pixels), to: r.outDir + "/" + base + ".hr.u8")
                let graph = graphs.first { $0.height == pr.lr.height && $0.width == pr.lr.width }!.file
                images.append(ImageEntry(name: pr.name, height: pr.lr.height, width: pr.lr.width, graph: graph,
                                         input: base + ".lr.f32", output: base + ".\(tag).sr.f32", hr: base + ".hr.u8",
                                         harmoqPSNRY: psnr, stages: stageFiles.isEmpty ? nil : stageFiles))
                let el = Date().timeIntervalSince(start)
                log?(String(format: "reference %d/%d: %@ %dx%d, harmoq PSNR-Y %.4f dB (ETA %.0f s)", i + 1, pairs.count,
                            pr.name, pr.lr.height, pr.lr.width, psnr, el / Double(i + 1) * Double(pairs.count - i - 1)))
            }
        }
        let index = Index(format: format, toolVersion: r.toolVersion, model: r.modelPath, architecture: model.architecture.rawValue,
                          scale: model.scale, quant: r.quantPath, method: plan?.method,
                          bits: plan.map { "w\($0.weightBits)a\($0.activationBits)" }, irVersion: Int(ONNXModel.wholeModelIRVersion),
                          opset: Int(ONNXModel.wholeModelOpset), input: input, output: output,
                          dataLayout: "raw little-endian; .f32 float32 NCHW (1, 3, H, W); .hr.u8 uint8 H×W×3 RGB",
                          graphs: graphs, images: images)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try enc.encode(index), to: r.outDir + "/index.json")
        return index
    }

    static func floatBytes(_ v: [Float]) -> Data {
        var le = v.map { $0.bitPattern.littleEndian }
        return Data(bytes: &le, count: le.count * 4)
    }
}

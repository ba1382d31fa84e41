import Foundation
import HarmoQ
import SRIO
import SREngine

/// Per-site latency of FP32 vs fake-quant vs integer execution of DAT-light Linear sites, and weight
/// memory per format (`harmoq bench --int`). All variants run in one process, interleaved per repeat;
/// each figure is the median over `repeats` timed calls (after one warm-up call).
///
/// - FP32: output := bias, then the engine's `GEMM.multiply` (packed W, C kernel) — what the model runs.
/// - fake-quant: x̂ = Q_x(x) (Swift `Quantizer.fakeQuantInPlace`), output := bias, then the same GEMM on Ŵ
///   (fake-quantized once beforehand, as simulation does).
/// - integer: `IntegerLinear.apply` (C activation quantization, int8 GEMM with per-panel unpacking, rescale).
/// - int GEMM only: the same call minus nothing else — reported per kernel (VNNI, AVX2) for the int8 weight.
public enum IntegerBench {
    public struct SiteTiming: Sendable {
        public let site: String
        public let m: Int, k: Int, n: Int, bits: Int
        /// Median seconds per call by variant name.
        public let seconds: [(String, Double)]
    }

    public struct Report: Sendable, CustomStringConvertible {
        public let tokens: Int
        public let repeats: Int
        public let threads: Int
        public let timings: [SiteTiming]
        public let sizes: ModelSizeReport

        public var description: String {
            var s = "Integer execution bench: DAT-light x2 Linear sites, M = \(tokens) tokens, "
                + "median of \(repeats) calls, \(threads) thread(s), CPU kernel \(IntegerGEMM.ISA.best)\n"
            for t in timings {
                let fp = t.seconds.first { $0.0 == "fp32" }?.1 ?? .nan
                s += "\(t.site) [\(t.m)×\(t.k)→\(t.n)] W\(t.bits)A\(t.bits):"
                for (name, sec) in t.seconds {
                    s += "  \(name) " + String(format: "%.3f ms (%.2f× fp32)", sec * 1e3, fp / sec)
                }
                s += "\n"
            }
            return s + sizes.description
        }
    }

    /// Times the Linear sites of block `block` of the model at `modelPath`. Activations are the site's
    /// real inputs on a `crop`×`crop` crop of `imagePath`, tiled to `tokens` rows (values do not change the
    /// work any of the three paths does).
    public static func run(modelPath: String, imagePath: String, tokens: Int? = nil, block: Int = 0,
                           bits: [Int] = [8, 4], repeats: Int = 7, parallel: Bool = false, crop: Int = 48) throws -> Report {
        let model = try ModelLoader.load(path: modelPath)
        let image = try RGBImage.read(path: imagePath)
        let m = tokens ?? image.width * image.height
        let c = min(crop, image.width, image.height)
        let caps = try LinearInputCapture.capture(model, input: try image.cropped(width: c, height: c).toTensor())
        let prefix = "layers.0.blocks.\(block)."
        var timings: [SiteTiming] = []
        for cap in caps where cap.site.name.hasPrefix(prefix) {
            let (w, b) = try model.linearWeight(cap.site)
            var x = [Float](repeating: 0, count: m * cap.cols)
            for i in 0..<x.count { x[i] = cap.values[i % cap.values.count] }
            for bw in bits {
                timings.append(try time(site: String(cap.site.name.dropFirst("layers.0.".count)),
                                        x: x, m: m, weight: w, bias: b?.data, bits: bw, repeats: repeats, parallel: parallel))
            }
        }
        let dict = try ModelLoader.readStateDict(path: modelPath)
        let sizes = try ModelSizeReport.measure(stateDict: dict, linearNames: model.sites.filter(\.isLinear).map(\.name))
        return Report(tokens: m, repeats: repeats, threads: parallel ? Parallel.threads : 1, timings: timings, sizes: sizes)
    }

    static func time(site: String, x: [Float], m: Int, weight: Tensor, bias: [Float]?, bits: Int,
                     repeats: Int, parallel: Bool) throws -> SiteTiming {
        let n = weight.shape[0], k = weight.shape[1]
        let (packed, _) = try PackedLinearWeight.minMax(weight, bits: bits)
        let (lo, hi) = try Observer.absMax(x)
        let qx = try Quantizer(bits: bits, lower: lo, upper: hi, scheme: .symmetric)
        let fpPacked = GEMM.Packed(transposeOf: weight.data, rows: n, cols: k)
        let fqPacked = GEMM.Packed(transposeOf: packed.dequantized().data, rows: n, cols: k)
        var y = [Float](repeating: 0, count: m * n)
        var xq = x
        var variants: [(String, () -> Void)] = []
        func floatGEMM(_ a: UnsafePointer<Float>, _ p: GEMM.Packed, _ out: UnsafeMutablePointer<Float>) {
            if let b = bias { for r in 0..<m { (out + r * n).update(from: b, count: n) } }
            else { out.update(repeating: 0, count: m * n) }
            GEMM.multiply(m: m, a: a, lda: k, packed: p, c: out, ldc: n, accumulate: true, parallel: parallel)
        }
        variants.append(("fp32", {
            x.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { floatGEMM(px.baseAddress!, fpPacked, $0.baseAddress!) } }
        }))
        variants.append(("fake-quant", {
            xq.withUnsafeMutableBufferPointer { px in
                px.baseAddress!.update(from: x, count: x.count)
                qx.fakeQuantInPlace(px)
                y.withUnsafeMutableBufferPointer { floatGEMM(px.baseAddress!, fqPacked, $0.baseAddress!) }
            }
        }))
        for isa in [IntegerGEMM.ISA.avx512vnni, .avx2] where isa.isSupported {
            let lin = try IntegerLinear(weight: packed, bias: bias, activation: qx, isa: isa)
            variants.append(("int \(isa)", {
                x.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer {
                    lin.apply(px.baseAddress!, rows: m, into: $0.baseAddress!, parallel: parallel) } }
            }))
        }
        var samples = [[Double]](repeating: [], count: variants.count)
        let clock = ContinuousClock()
        for rep in 0...repeats {
            for (i, v) in variants.enumerated() {
                let d = clock.measure { v.1() }
                if rep > 0 { samples[i].append(Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18) }
            }
        }
        let med = samples.map { s -> Double in let t = s.sorted(); return t.count % 2 == 1 ? t[t.count / 2] : (t[t.count / 2 - 1] + t[t.count / 2]) / 2 }
        return SiteTiming(site: site, m: m, k: k, n: n, bits: bits, seconds: zip(variants, med).map { ($0.0.0, $0.1) })
    }
}

import Foundation
import SREngine
import SRIO

/// `harmoq eval --int`: integer execution of a QPARAMS plan evaluated over a set, beside its fake quantization, with the
/// integer-vs-fake difference per image (the parity docs/integer.md claims: 0 for every image).
public struct IntegerEvaluation: Codable, Sendable {
    public struct Image: Codable, Sendable {
        public var name: String
        public var psnrInteger: Double
        public var psnrFake: Double
        /// PSNR(integer) − PSNR(fake quantization), dB.
        public var psnrDifference: Double
        public var ssimInteger: Double
        public var ssimFake: Double
        /// max |y_int − y_fake| over the float outputs (model range [0, 1]).
        public var maxAbsOutputDifference: Float
        /// Output values (channels × pixels) that differ at all, and 8-bit pixel values that differ after rounding.
        public var differingOutputs: Int
        public var differing8BitValues: Int
        /// max |Δ| of the 8-bit images (levels).
        public var max8BitDifference: Int
    }
    public var plan: String
    public var integer: EvalReport
    public var fakeQuant: EvalReport
    public var images: [Image]

    /// Evaluates `set` twice — with `fake` (the plan's fake quantization installed) and with `integer` (its integer
    /// execution installed) — and compares the outputs image by image. `progress` gets the evaluation's lines, prefixed.
    public static func run(set: BenchmarkSet, scale: Int, limit: Int?, plan: String, fake: any SRModel, integer: any SRModel,
                           progress: ((String) -> Void)? = nil) throws -> IntegerEvaluation {
        var outputs: [(fake: Tensor, integer: Tensor)] = []
        let fakeReport = try SREvaluation.run(set: set, scale: scale, limit: limit, upscale: { x in
            let y = try fake.forward(x); outputs.append((y, y)); return y
        }, progress: progress.map { p in { p("fake-quant " + $0) } })
        var i = 0
        let intReport = try SREvaluation.run(set: set, scale: scale, limit: limit, upscale: { x in
            let y = try integer.forward(x); outputs[i].integer = y; i += 1; return y
        }, progress: progress.map { p in { p("integer " + $0) } })
        return try make(plan: plan, integer: intReport, fake: fakeReport, outputs: outputs)
    }

    /// Fills `images` from the two reports and the per-image (fake, integer) outputs, in report order.
    public static func make(plan: String, integer: EvalReport, fake: EvalReport, outputs: [(fake: Tensor, integer: Tensor)]) throws -> IntegerEvaluation {
        var rows: [Image] = []
        for (i, (a, b)) in zip(integer.images, fake.images).enumerated() {
            let (yf, yi) = outputs[i]
            var maxAbs: Float = 0, differ = 0
            for (u, v) in zip(yf.data, yi.data) where u.bitPattern != v.bitPattern { differ += 1; maxAbs = max(maxAbs, abs(u - v)) }
            let pf = try RGBImage(tensor: yf).pixels, pi = try RGBImage(tensor: yi).pixels
            var d8 = 0, m8 = 0
            for (u, v) in zip(pf, pi) where u != v { d8 += 1; m8 = max(m8, abs(Int(u) - Int(v))) }
            rows.append(Image(name: a.name, psnrInteger: a.psnrY, psnrFake: b.psnrY, psnrDifference: a.psnrY - b.psnrY,
                              ssimInteger: a.ssimY, ssimFake: b.ssimY, maxAbsOutputDifference: maxAbs, differingOutputs: differ,
                              differing8BitValues: d8, max8BitDifference: m8))
        }
        return IntegerEvaluation(plan: plan, integer: integer, fakeQuant: fake, images: rows)
    }

    public func text() -> String {
        var s = "integer vs fake quantization (\(plan)):\n"
        s += "image        PSNR-Y int  PSNR-Y fake  ΔPSNR dB   SSIM int  max|Δy|       Δ outputs  Δ 8-bit (max)\n"
        for r in images {
            s += r.name.padding(toLength: max(12, r.name.count), withPad: " ", startingAt: 0)
            s += String(format: " %10.4f  %11.4f  %+9.5f  %8.5f  %-12.4g  %9d  %7d (%d)\n", r.psnrInteger, r.psnrFake,
                        r.psnrDifference, r.ssimInteger, Double(r.maxAbsOutputDifference), r.differingOutputs, r.differing8BitValues, r.max8BitDifference)
        }
        let worst = images.map { abs($0.psnrDifference) }.max() ?? 0
        s += String(format: "mean PSNR-Y int %.4f, fake %.4f (%+.5f dB); max |ΔPSNR| %.5f dB; images bit-identical: %d of %d",
                    integer.meanPSNRY, fakeQuant.meanPSNRY, integer.meanPSNRY - fakeQuant.meanPSNRY, worst,
                    images.filter { $0.differingOutputs == 0 }.count, images.count)
        return s
    }
}

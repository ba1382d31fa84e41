import Foundation
import SRIO

/// `harmoq eval --int`: integer execution of a QPARAMS plan evaluated over a set, beside its fake quantization, with the
/// integer-vs-fake difference per image (the parity docs/integer.md claims: 0 for every image).
struct IntegerEvaluation: Codable {
    struct Image: Codable {
        var name: String
        var psnrInteger: Double
        var psnrFake: Double
        /// PSNR(integer) − PSNR(fake quantization), dB.
        var psnrDifference: Double
        var ssimInteger: Double
        var ssimFake: Double
        /// max |y_int − y_fake| over the float outputs (model range [0, 1]).
        var maxAbsOutputDifference: Float
        /// Output values (channels × pixels) that differ at all, and 8-bit pixel values that differ after rounding.
        var differingOutputs: Int
        var differing8BitValues: Int
        /// max |Δ| of the 8-bit images (levels).
        var max8BitDifference: Int
    }
    var plan: String
    var integer: EvalReport
    var fakeQuant: EvalReport
    var images: [Image]

    /// Fills `images` from the two reports and the per-image (fake, integer) outputs, in report order.
    static func make(plan: String, integer: EvalReport, fake: EvalReport, outputs: [(fake: Tensor, integer: Tensor)]) throws -> IntegerEvaluation {
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

    func text() -> String {
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

import Foundation
import Testing
import SRIO
import HarmoQ

/// The official DAT-light ×2 SR PNGs against Set5 HR must reproduce the per-image PSNR/SSIM that
/// the official script printed into fp-metrics.json (4 and 5 decimals).
@Test(.enabled(if: SharedData.available, "needs ../shared"))
func officialSROutputsReproduceReferenceMetrics() throws {
    let set5 = try #require(try ReferenceMetrics.read(path: SharedData.path("reference/fp-metrics.json")).results["Set5_x2"]?.perImage)
    #expect(set5.count == 5)
    for (name, ref) in set5.sorted(by: { $0.key < $1.key }) {
        let sr = try PNGCodec.read(path: SharedData.path("reference/dat-light-x2-set5-sr/\(name).png"))
        let hr = try PNGCodec.read(path: SharedData.path("data/Set5/HR/\(name).png")).cropped(width: sr.width, height: sr.height)
        let psnr = try PSNR.y(sr, hr, border: 2), ssim = try SSIM.y(sr, hr, border: 2)
        let refP = try #require(ref.psnrY), refS = try #require(ref.ssimY)
        print("\(name): psnr \(psnr) (ref \(refP)) ssim \(ssim) (ref \(refS))")
        // Printed precision: psnr 4 decimals, ssim 5 decimals → agree after rounding, i.e. |Δ| ≤ half a unit.
        #expect(abs(psnr - refP) <= 0.5e-4 + 1e-12, "\(name) psnr \(psnr) vs \(refP)")
        #expect(abs(ssim - refS) <= 0.5e-5 + 1e-12, "\(name) ssim \(ssim) vs \(refS)")
    }
}

@Test func ssimSeparableFilterMatchesTwoDimensionalReference() {
    var rng = SplitMix64(seed: 7)
    for (w, h) in [(11, 11), (12, 17), (31, 20)] {
        let x = (0..<(w * h)).map { _ in Double(rng.next() % 256) }
        let fast = SSIM.validFilterSeparable(x, w, h), ref = SSIM.validFilterReference(x, w, h)
        #expect(fast.count == (w - 10) * (h - 10))
        let err = zip(fast, ref).map { abs($0 - $1) }.max()!
        #expect(err <= 255 * 121 * Double.ulpOfOne * 8, "w=\(w) h=\(h) err=\(err)")
    }
}

@Test func metricsOnIdenticalAndKnownImages() throws {
    let a = try RGBImage(width: 16, height: 16, pixels: (0..<(16 * 16 * 3)).map { UInt8($0 % 251) })
    #expect(try PSNR.y(a, a, border: 2) == .infinity)
    #expect(abs(try SSIM.y(a, a, border: 2) - 1) < 1e-12)
    // Uniform gray offset of one level in every channel: ΔY = (65.481+128.553+24.966)/255 = 219/255 exactly.
    let g1 = try RGBImage(width: 12, height: 12, pixels: [UInt8](repeating: 100, count: 12 * 12 * 3))
    let g2 = try RGBImage(width: 12, height: 12, pixels: [UInt8](repeating: 101, count: 12 * 12 * 3))
    let expected = 20 * log10(255 / (219.0 / 255.0))
    // The script scales channels to [0,1] in float32 (uint8/255), so each Y carries up to ~3·255·2⁻²⁴ ≈ 5e-5
    // of rounding; on ΔY ≈ 0.86 that is ≤ 6e-5 relative, i.e. ≤ 20/ln10 · 6e-5 ≈ 5e-4 dB.
    let p = try PSNR.y(g1, g2, border: 1)
    #expect(abs(p - expected) < 5e-4, "psnr \(p) expected \(expected)")
    #expect(throws: IOError.self) { try SSIM.y(g1, g2, border: 1) }   // 10×10 left: smaller than the window
    #expect(throws: IOError.self) { try PSNR.y(a, g1, border: 0) }    // size mismatch
}

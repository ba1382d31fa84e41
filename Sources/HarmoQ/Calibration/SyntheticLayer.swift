import Foundation

/// Seeded synthetic linear layers for tests and the T4 checker: W (m×d) Gaussian with std 1/√d, inputs on a
/// token grid of `images`×`side`×`side`, each channel a smooth random field (sum of 3 plane waves) plus noise, with
/// every 8th channel an outlier channel (×8) — the activation statistics that make per-tensor quantization hard.
public enum SyntheticLayer {
    public static func make(outputs m: Int, inputs d: Int, images: Int = 4, side: Int = 16, seed: UInt64) throws -> LayerProblem {
        var rng = SplitMix64(seed: seed)
        var w = [Float](repeating: 0, count: m * d)
        let sd = 1 / Double(d).squareRoot()
        for i in w.indices { w[i] = Float(rng.nextGaussian() * sd) }
        let n = images * side * side
        var x = [Float](repeating: 0, count: n * d)
        for img in 0..<images {
            for ch in 0..<d {
                var waves: [(Double, Double, Double, Double)] = []
                for _ in 0..<3 {
                    waves.append((rng.nextGaussian() * 0.6, rng.nextGaussian() * 0.6, rng.nextUniform() * 2 * Double.pi, rng.nextGaussian()))
                }
                let gain = ch % 8 == 0 ? 8.0 : 1.0
                let offset = rng.nextGaussian() * 0.3
                for y in 0..<side { for xx in 0..<side {
                    var v = offset
                    for (fy, fx, ph, a) in waves { v += a * sin(fy * Double(y) + fx * Double(xx) + ph) }
                    v += 0.1 * rng.nextGaussian()
                    x[((img * side + y) * side + xx) * d + ch] = Float(gain * v)
                } }
            }
        }
        return try LayerProblem(weight: w, outputs: m, inputs: d, samples: x, rows: n,
                                grid: try TokenGrid(images: images, height: side, width: side))
    }
}

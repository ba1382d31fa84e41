import Foundation
import PropertyBased
import SREngine
import SRIO
import Testing

private func pseudoRandom(_ n: Int, seed: Int, scale: Float = 1) -> [Float] {
    var s = UInt64(seed) &* 6364136223846793005 &+ 1442695040888963407
    return (0..<n).map { _ in
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return (Float(s >> 40) / Float(1 << 24) * 2 - 1) * scale
    }
}

@Test func conv3x3MatchesDirectReference() async {
    await propertyCheck(count: 12, input: Gen.int(in: 1...9), Gen.int(in: 1...11), Gen.int(in: 1...7),
                        Gen.int(in: 1...9), Gen.int(in: 0...1000)) { h, w, cin, cout, seed in
        let weight = Tensor(shape: [cout, cin, 3, 3], data: pseudoRandom(cout * cin * 9, seed: seed))
        let conv = Convolution.Dense(weight: weight, bias: pseudoRandom(cout, seed: seed + 1))
        let x = pseudoRandom(h * w * cin, seed: seed + 2, scale: 3)
        let err = zip(conv.apply(x, height: h, width: w), conv.reference(x, height: h, width: w)).map { abs($0 - $1) }.max()!
        #expect(err <= 1e-5, "h=\(h) w=\(w) cin=\(cin) cout=\(cout) err=\(err)")
    }
}

@Test func conv3x3LargeImageTakesChunkedPath() {
    let (h, w, cin, cout) = (40, 53, 5, 6)   // 2120 pixels > one 1024-pixel im2col chunk
    let conv = Convolution.Dense(weight: Tensor(shape: [cout, cin, 3, 3], data: pseudoRandom(cout * cin * 9, seed: 3)),
                                 bias: pseudoRandom(cout, seed: 4))
    let x = pseudoRandom(h * w * cin, seed: 5)
    let err = zip(conv.apply(x, height: h, width: w), conv.reference(x, height: h, width: w)).map { abs($0 - $1) }.max()!
    #expect(err <= 1e-5)
}

@Test func conv1x1MatchesReference() {
    let conv = Convolution.Dense(weight: Tensor(shape: [7, 60, 1, 1], data: pseudoRandom(420, seed: 9)),
                                 bias: pseudoRandom(7, seed: 10))
    let x = pseudoRandom(13 * 11 * 60, seed: 11)
    let err = zip(conv.apply(x, height: 13, width: 11), conv.reference(x, height: 13, width: 11)).map { abs($0 - $1) }.max()!
    #expect(err <= 1e-5)
}

@Test func depthwiseConvMatchesReference() async {
    await propertyCheck(count: 12, input: Gen.int(in: 1...12), Gen.int(in: 1...12), Gen.int(in: 1...70),
                        Gen.int(in: 0...1000)) { h, w, c, seed in
        let dw = Convolution.Depthwise(weight: Tensor(shape: [c, 1, 3, 3], data: pseudoRandom(c * 9, seed: seed)),
                                       bias: pseudoRandom(c, seed: seed + 1))
        let x = pseudoRandom(h * w * c, seed: seed + 2, scale: 2)
        let err = zip(dw.apply(x, height: h, width: w), dw.reference(x, height: h, width: w)).map { abs($0 - $1) }.max()!
        #expect(err <= 1e-5, "h=\(h) w=\(w) c=\(c) err=\(err)")
    }
}

@Test func geluMatchesErfReference() {
    // Dense sweep including the tails and the kink region near 0.
    let xs = (0...24_000).map { Float($0 - 12_000) / 1000 }
    let fast = Activations.gelu(xs)
    var err: Float = 0
    for (x, y) in zip(xs, fast) { err = max(err, abs(y - Activations.geluReference(x))) }
    #expect(err <= 2e-6, "max |Δ| = \(err)")
    #expect(Activations.gelu([0])[0] == 0)
}

@Test func softmaxMatchesReference() async {
    await propertyCheck(count: 30, input: Gen.int(in: 1...9), Gen.int(in: 1...300), Gen.int(in: 0...1000)) { rows, cols, seed in
        var x = pseudoRandom(rows * cols, seed: seed, scale: 30)
        if cols > 2 { x[1] = -100 + x[1] }   // masked-like logits
        let fast = Activations.softmaxRows(x, rows: rows, cols: cols)
        let ref = Activations.softmaxRowsReference(x, rows: rows, cols: cols)
        let err = zip(fast, ref).map { abs($0 - $1) }.max()!
        #expect(err <= 1e-6, "rows=\(rows) cols=\(cols) err=\(err)")
        for r in 0..<rows {
            let s = fast[(r * cols)..<((r + 1) * cols)].reduce(0, +)
            #expect(abs(s - 1) <= 1e-5)
        }
    }
}

@Test func layerNormMatchesReference() {
    let ln = LayerNorm(weight: pseudoRandom(60, seed: 1).map { 1 + $0 * 0.1 }, bias: pseudoRandom(60, seed: 2))
    let x = pseudoRandom(600 * 60, seed: 3, scale: 20).enumerated().map { $0.element + Float($0.offset % 7) }
    let err = zip(ln.apply(x), ln.reference(x)).map { abs($0 - $1) }.max()!
    #expect(err <= 1e-5, "err=\(err)")
}

@Test func leakyReLUAndPixelShuffle() {
    var v: [Float] = [-2, -0.5, 0, 3]
    v.withUnsafeMutableBufferPointer { Activations.leakyReLU($0.baseAddress!, count: 4, slope: 0.2) }
    #expect(v == [-0.4, -0.1, 0, 3])
    // 1×1 pixel with 3·4 channels, scale 2: out[c, i, j] = in[c·4 + i·2 + j].
    let input = (0..<12).map(Float.init)
    let out = PixelShuffle.toNCHW(input, height: 1, width: 1, outChannels: 3, scale: 2)
    #expect(out == input)
    // 1×2 pixels, one output channel, scale 2: row 0 = [p0c0, p0c1, p1c0, p1c1].
    let two = PixelShuffle.toNCHW([0, 1, 2, 3, 10, 11, 12, 13], height: 1, width: 2, outChannels: 1, scale: 2)
    #expect(two == [0, 1, 10, 11, 2, 3, 12, 13])
}

@Test func batchNormEvalFormula() {
    var x: [Float] = [1, 2, 3, 4]
    let bn = BatchNormEval(weight: [2, 1], bias: [0.5, -1], runningMean: [1, 0], runningVar: [3, 0], eps: 1)
    x.withUnsafeMutableBufferPointer { bn.apply($0.baseAddress!, rows: 2) }
    // channel 0: (x − 1)/2·2 + 0.5; channel 1: x/1·1 − 1
    #expect(x == [0.5, 1, 2.5, 3])
}

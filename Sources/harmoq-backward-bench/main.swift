// harmoq-backward-bench [--model FILE] [--runs N] [--size S]: forward + backward of one S×S DAT-light patch vs the
// engine forward of the same patch (BackwardBenchmark, medians of N interleaved runs). Build with -c release.
import Foundation
import SREngine
import SRIO

var model = "../shared/models/dat-light-x2.safetensors", runs = 7, size = 64
var args = CommandLine.arguments.dropFirst().makeIterator()
while let a = args.next() {
    switch a {
    case "--model": model = args.next() ?? model
    case "--runs": runs = Int(args.next() ?? "") ?? runs
    case "--size": size = Int(args.next() ?? "") ?? size
    default:
        FileHandle.standardError.write("usage: harmoq-backward-bench [--model FILE] [--runs N] [--size S]\n".data(using: .utf8)!)
        exit(2)
    }
}
do {
    let weights = try ModelLoader.readStateDict(path: model)
    let scale = try ModelLoader.detectScale(weights, source: model)
    // A smooth synthetic patch in [0, 1] (the timing does not depend on content).
    var data = [Float](repeating: 0, count: 3 * size * size)
    for c in 0..<3 { for y in 0..<size { for x in 0..<size {
        data[(c * size + y) * size + x] = 0.5 + 0.4 * sinf(Float(x) * 0.3 + Float(c)) * cosf(Float(y) * 0.2)
    }}}
    let r = try BackwardBenchmark.run(weights: weights, scale: scale, input: Tensor(shape: [1, 3, size, size], data: data), runs: runs)
    print(r.summary)
} catch {
    FileHandle.standardError.write("harmoq-backward-bench: \(error)\n".data(using: .utf8)!)
    exit(1)
}

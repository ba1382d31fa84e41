import ArgumentParser
import Foundation
import SREngine
import SRIO

/// `harmoq bench [--model FILE] [--set DIR] [--repeats N] [--no-hook] [--json PATH]`
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time whole-image forwards (FP, then with a trivial rounding hook) and compare with the official PyTorch time.",
        discussion: "Reports the median over repeats per image, the set total (sum of medians), the ratio to the reference "
            + "forward time in fp-metrics.json, the hook overhead and the peak resident memory (VmHWM). Per-run progress goes to stderr.")

    @Option(help: "Model weights (.safetensors or .pth).")
    var model: String = "../shared/models/dat-light-x2.safetensors"

    @Option(help: "Folder of LR images (.png/.bmp), all of which are run, e.g. ../shared/data/Set5/LR_bicubic/X2.")
    var set: String = "../shared/data/Set5/LR_bicubic/X2"

    @Option(help: "Forwards per image and configuration; the median is reported.")
    var repeats: Int = 3

    @Flag(help: "Skip the run with the rounding hook installed (hook-overhead measurement).")
    var noHook = false

    @Option(help: "fp-metrics.json holding the official PyTorch timing.")
    var referenceMetrics: String = "../shared/reference/fp-metrics.json"

    @Option(help: "Entry of fp-metrics.json results to compare with (its wall_time_s_forward_only).")
    var referenceSet: String = "Set5_x2"

    @Option(help: "Also write the timings as JSON to this path (atomically).")
    var json: String?

    @Option(help: "Kernel threads (default: all active CPUs, or HARMOQ_THREADS). With 1, CPU time equals the work of one core.")
    var threads: Int?

    func run() throws {
        guard repeats >= 1 else { throw CLIError("harmoq bench: --repeats must be at least 1") }
        if let t = threads {
            guard t >= 1 else { throw CLIError("harmoq bench: --threads must be at least 1") }
            Parallel.threads = t
        }
        EngineAllocator.preferHeapReuse()
        let net: any SRModel
        do { net = try ModelLoader.load(path: model) } catch { throw CLIError("harmoq bench: \(error)") }
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: set)
                .filter { ["png", "bmp"].contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
        } catch { throw CLIError("harmoq bench: cannot list \(set): \(error)") }
        guard !files.isEmpty else { throw CLIError("harmoq bench: no .png/.bmp images in \(set)") }
        var images: [(name: String, image: Tensor)] = []
        for f in files {
            do { images.append(((f as NSString).deletingPathExtension, try RGBImage.read(path: (set as NSString).appendingPathComponent(f)).toTensor())) }
            catch { throw CLIError("harmoq bench: cannot read \(f): \(error)") }
        }
        let result: EngineBenchmark.Result
        do {
            result = try EngineBenchmark.run(model: net, images: images, repeats: repeats, withHook: !noHook) {
                FileHandle.standardError.write(Data(("bench: " + $0 + "\n").utf8))
            }
        } catch { throw CLIError("harmoq bench: \(error)") }
        let reference = try? EngineBenchmark.referenceSeconds(metricsPath: referenceMetrics, set: referenceSet)
        let cpus = ProcessInfo.processInfo.activeProcessorCount
        print("\(net.architecture.rawValue) x\(net.scale), \(images.count) images from \(set), \(repeats) repeats, \(Parallel.threads) threads (\(cpus) CPUs)")
        for (i, t) in result.fp.enumerated() {
            let name = t.name.count >= 12 ? t.name : t.name + String(repeating: " ", count: 12 - t.name.count)
            var line = "  " + name + String(format: " %4dx%-4d FP median %.3f s (CPU %.3f s)", t.height, t.width, t.median, t.medianCPU)
            if let hk = result.hooked?[i] { line += String(format: "   hooked %.3f s (x%.3f)", hk.median, hk.median / t.median) }
            print(line)
        }
        print(String(format: "set FP: %.3f s wall (sum of medians), %.3f s CPU over all threads", result.fpSetSeconds, result.fpSetCPUSeconds))
        if let hs = result.hookedSetSeconds {
            print(String(format: "set with rounding hook: %.3f s, overhead x%.3f", hs, hs / result.fpSetSeconds))
        }
        if let r = reference {
            print("official PyTorch (\(referenceSet), fp-metrics.json): " + String(format: "%.2f s -> speed-up x%.2f", r, r / result.fpSetSeconds))
        } else {
            print("official PyTorch time: not found in \(referenceMetrics)")
        }
        if let peak = result.peakResidentBytes { print(String(format: "peak resident memory (VmHWM): %.0f MB", Double(peak) / 1e6)) }
        if let path = json {
            var obj: [String: Any] = [
                "model": model, "set": set, "repeats": repeats, "threads": Parallel.threads,
                "fp_set_seconds": result.fpSetSeconds, "fp_set_cpu_seconds": result.fpSetCPUSeconds,
                "fp_per_image": result.fp.map { ["name": $0.name, "height": $0.height, "width": $0.width, "seconds": $0.seconds,
                                                 "cpu_seconds": $0.cpuSeconds] },
            ]
            if let hs = result.hookedSetSeconds { obj["hooked_set_seconds"] = hs }
            if let hk = result.hooked { obj["hooked_per_image"] = hk.map { ["name": $0.name, "seconds": $0.seconds] } }
            if let r = reference { obj["reference_seconds"] = r; obj["speedup"] = r / result.fpSetSeconds }
            if let p = result.peakResidentBytes { obj["peak_resident_bytes"] = p }
            do {
                try AtomicFile.write(try JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys]), to: path)
            } catch { throw CLIError("harmoq bench: cannot write \(path): \(error)") }
        }
    }
}

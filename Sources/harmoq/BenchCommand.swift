import ArgumentParser
import Foundation
import SRCalibration
import SREngine
import SRInteger
import SRIO

/// `harmoq bench [--model FILE] [--set DIR] [--repeats N] [--no-hook] [--json PATH]`
/// `harmoq bench --int [--bits w8a8,w4a4 | --quant QPARAMS[,QPARAMS…]] [--float-domain] [--model FILE] [--set DIR] [--repeats N] [--threads N] [--json PATH]`
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time whole-image forwards (FP, then with a trivial rounding hook) and compare with the official PyTorch time.",
        discussion: "Reports the median over repeats per image, the set total (sum of medians), the ratio to the reference "
            + "forward time in fp-metrics.json, the hook overhead and the peak resident memory (VmHWM). Per-run progress goes to stderr. "
            + "With --int: whole-model FP32 vs fake-quant vs integer execution (docs/integer.md), all in one run, interleaved per repeat: "
            + "per-image medians, set totals and ratios to FP32, the peak resident memory of one pass over the set per configuration "
            + "(freed heap trimmed and VmHWM reset through /proc/self/clear_refs before each pass), and the packed model-size table.")

    @Option(help: ArgumentHelp(ModelOptions.help))
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

    @Flag(name: .customLong("int"), help: "Benchmark integer execution instead: FP32, fake-quant and integer whole-model forwards per bit width (MinMax plan calibrated on the images of --set; --no-hook and the reference comparison do not apply).")
    var integer = false

    @Option(help: "With --int: comma-separated bit widths, each w8a8 or w4a4.")
    var bits: String = "w8a8,w4a4"

    @Option(help: "With --int: a QPARAMS file (harmoq calibrate), or several separated by commas, instead of MinMax plans: FP32 vs each file's fake quantization (QuantizedModel) vs its integer execution (Linear sites, and q·kᵀ and P·V where both operand sites are quantized on centred grids), all interleaved in one run.")
    var quant: String?

    @Flag(help: "With --int: also time the float-domain fake quantization (x̂ and Ŵ in Float, float GEMM; 'float-fq'), beside the code-domain one ('fake-quant').")
    var floatDomain = false

    @Flag(help: "With --int: also time the four Linear sites of block 0 alone (IntegerBench: FP32 GEMM vs fake-quant vs integer with each supported kernel) on the first image of --set, 1 thread.")
    var perSite = false

    @Option(help: "Kernel threads (default: all active CPUs, or HARMOQ_THREADS). With 1, CPU time equals the work of one core.")
    var threads: Int?

    @OptionGroup var binding: ModelBindingOptions

    func run() throws {
        guard repeats >= 1 else { throw CLIError("harmoq bench: --repeats must be at least 1") }
        if let t = threads {
            guard t >= 1 else { throw CLIError("harmoq bench: --threads must be at least 1") }
            Parallel.threads = t
        }
        EngineAllocator.preferHeapReuse()
        let net: any SRModel, identity: ModelIdentity
        do { (net, identity) = try ModelIdentity.load(path: model) } catch { throw CLIError("harmoq bench: \(error)") }
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
        if integer {
            do { try runInteger(net, identity: identity, images: images) } catch let e as CLIError { throw e } catch { throw CLIError("harmoq bench --int: \(error)") }
            return
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
            do {
                try EngineBenchmark.Report(result, model: model, set: set, repeats: repeats, threads: Parallel.threads,
                                           referenceSeconds: reference).write(to: path)
            } catch { throw CLIError("harmoq bench: cannot write \(path): \(error)") }
        }
    }

    /// The file name in --set of the image named `name` (extension dropped when it was loaded).
    private func files(_ name: String) -> String {
        let all = (try? FileManager.default.contentsOfDirectory(atPath: set)) ?? []
        return all.first { ($0 as NSString).deletingPathExtension == name } ?? name + ".png"
    }

    /// `--int`: one configuration = FP32, or (plan, float-fq | fake-quant | integer); `IntegerModelBench` runs them.
    private func runInteger(_ net: any SRModel, identity: ModelIdentity, images: [(name: String, image: Tensor)]) throws {
        let widths = try bits.split(separator: ",").map { try IntegerSetup.parseBits(String($0).trimmingCharacters(in: .whitespaces)) }
        guard !widths.isEmpty else { throw CLIError("harmoq bench: --bits is empty") }
        func log(_ m: String) { FileHandle.standardError.write(Data(("bench: " + m + "\n").utf8)) }
        var configs: [IntegerModelBench.Configuration] = [.fp32]
        if let quant {
            let files = quant.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !files.isEmpty else { throw CLIError("harmoq bench: --quant is empty") }
            for file in files {
                let setup = try binding.integerSetup(model: net, bits: nil, quant: file, calibration: [], identity: identity, command: "bench")
                log(setup.label)
                // One file: "QPARAMS" as before; several: named by their bit widths (and the file when two share them).
                var tag = "QPARAMS"
                if files.count > 1, let q = setup.qparams {
                    tag = "W\(q.weightBits)A\(q.activationBits)"
                    if configs.contains(where: { $0.name.hasSuffix(" " + tag) }) { tag += " " + (file as NSString).lastPathComponent }
                }
                configs += IntegerModelBench.Configuration.of(setup, tag: tag, floatDomain: floatDomain)
            }
        } else {
            for b in widths {
                log("MinMax W\(b)A\(b) plan, calibrating on \(images.count) images…")
                let setup = try binding.integerSetup(model: net, bits: "w\(b)a\(b)", quant: nil, calibration: images.map(\.image), identity: identity, command: "bench")
                configs += IntegerModelBench.Configuration.of(setup, tag: "W\(b)A\(b)", floatDomain: floatDomain)
            }
        }
        let result = try IntegerModelBench.run(model: net, images: images.map(\.image), configurations: configs, repeats: repeats, progress: log)
        let (medians, totals, cpuTotals, peaks) = (result.medians, result.totals, result.cpuTotals, result.peaks)

        let cpus = ProcessInfo.processInfo.activeProcessorCount
        print("Integer execution bench: \(net.architecture.rawValue) x\(net.scale), \(images.count) images from \(set), "
              + "median of \(repeats) repeats (after 1 warm-up), \(Parallel.threads) threads (\(cpus) CPUs), int kernel \(IntegerGEMM.ISA.best)")
        print("latency (s, per-image medians; set = sum of medians; ×FP32 = FP32 time / this time):")
        // Column width: 20, or the configuration's name + 2 when longer (two plans of one width are named by their files).
        let columnWidths = configs.map { Swift.max(20, $0.name.count + 2) }
        var header = "  image       size     "
        for (ci, c) in configs.enumerated() { header += c.name.padding(toLength: columnWidths[ci], withPad: " ", startingAt: 0) }
        print(header)
        for (i, img) in images.enumerated() {
            let dims = img.image.shape.count == 4 ? "\(img.image.shape[3])x\(img.image.shape[2])" : "?"
            var line = "  " + img.name.padding(toLength: 12, withPad: " ", startingAt: 0) + dims.padding(toLength: 9, withPad: " ", startingAt: 0)
            for ci in configs.indices {
                line += String(format: "%.3f (%.2f×)", medians[ci][i], medians[0][i] / medians[ci][i]).padding(toLength: columnWidths[ci], withPad: " ", startingAt: 0)
            }
            print(line)
        }
        var setLine = "  set                  "
        for ci in configs.indices { setLine += String(format: "%.3f (%.2f×)", totals[ci], totals[0] / totals[ci]).padding(toLength: columnWidths[ci], withPad: " ", startingAt: 0) }
        print(setLine)
        var cpuLine = "  set CPU s            "
        for ci in configs.indices { cpuLine += String(format: "%.3f (%.2f×)", cpuTotals[ci], cpuTotals[0] / cpuTotals[ci]).padding(toLength: columnWidths[ci], withPad: " ", startingAt: 0) }
        print(cpuLine)
        print("peak resident memory of one pass over the set (VmHWM after reset; working set = peak − RSS before the pass; ×FP32 = FP32 / this):")
        for (ci, c) in configs.enumerated() {
            guard let p = peaks[ci], let fp = peaks[0] else { print("  \(c.name): unavailable (/proc/self/clear_refs or VmHWM)"); continue }
            print("  " + c.name.padding(toLength: columnWidths[ci], withPad: " ", startingAt: 0)
                  + String(format: "peak %.1f MB (%.2f×)   working set %.1f MB (%.2f×)", Double(p.peak) / 1e6, Double(fp.peak) / Double(p.peak),
                           Double(p.peak - p.before) / 1e6, Double(fp.peak - fp.before) / Double(max(1, p.peak - p.before))))
        }
        print("resident Linear weights of the plans (packed codes + per-channel scales) vs FP32 (4 bytes per weight):")
        let fpLinearBytes = configs.compactMap(\.setup).first?.plan.linearWeightBytes.float32 ?? 0
        var seen = Set<Int>()
        for c in configs where c.mode == .integer {
            let p = c.setup!.plan
            guard seen.insert(p.bits).inserted else { continue }
            let packed = p.linearWeightBytes.packed
            print(String(format: "  W%dA%d: %d bytes vs %d (%.2f× smaller)", p.bits, p.bits, packed, fpLinearBytes, Double(fpLinearBytes) / Double(packed)))
        }
        if perSite, let first = images.first {
            let path = (set as NSString).appendingPathComponent(files(first.name))
            log("per-site bench on \(path)…")
            // Its report ends with the model-size table.
            print(try IntegerBench.run(modelPath: model, imagePath: path, bits: widths, repeats: max(repeats, 3)).description)
        } else {
            print("model size (safetensors of the packed model, docs/integer.md):")
            let dict = try ModelLoader.readStateDict(path: model)
            print(try ModelSizeReport.measure(stateDict: dict, linearNames: net.sites.filter(\.isLinear).map(\.name)).description)
        }

        if let path = json {
            do {
                try IntegerModelBench.Report(result, imageNames: images.map(\.name), model: model, set: set, repeats: repeats,
                                             threads: Parallel.threads, intKernel: "\(IntegerGEMM.ISA.best)").write(to: path)
            } catch { throw CLIError("harmoq bench: cannot write \(path): \(error)") }
        }
    }
}

import Foundation
import HarmoQChecks
import HarmoQReport
import SRIO

/// Writes the SVG charts of `harmoq tables --svg DIR` and `harmoq verify --svg DIR`.
enum ChartFiles {
    static func write(_ files: [PaperCharts.File], to dir: String) throws {
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw CLIError("--svg: cannot create folder '\(dir)': \(error.localizedDescription)")
        }
        for f in files { try AtomicFile.write(f.svg, to: dir + "/" + f.name) }
        CalibrationCLI.stderr("wrote \(files.count) SVG chart(s) to \(dir): \(files.map(\.name).joined(separator: ", "))")
    }
}

/// The charts of `harmoq verify --svg`: checker ratio vs threshold, and O1's weight-only vs activation-only drops.
enum VerifyCharts {
    static func files(_ report: CheckReport) -> [PaperCharts.File] {
        let points = report.runs.flatMap { $0.results }.filter(\.counted)
            .map { PaperCharts.CheckerPoint(claim: $0.claim, value: $0.value, threshold: $0.threshold, passed: $0.passed) }
        var files = [PaperCharts.File(name: "verify-ratios.svg", svg: PaperCharts.checkerRatios(points))]
        // O1 measured PSNR/SSIM per config (FP, W<b>A32, W32A<b>) and setting (the other parameters)
        var measured: [String: [String: (psnr: Double?, ssim: Double?)]] = [:]
        for r in report.runs.first(where: { $0.claim == "O1" })?.results ?? [] where r.ratio == "psnr" || r.ratio == "ssim" {
            guard let config = r.parameters.first(where: { $0.key == "config" })?.value else { continue }
            let setting = r.parameters.filter { $0.key != "config" }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            var e = measured[setting, default: [:]][config] ?? (nil, nil)
            if r.ratio == "psnr" { e.psnr = r.value } else { e.ssim = r.value }
            measured[setting, default: [:]][config] = e
        }
        for (k, setting) in measured.keys.sorted().enumerated() {
            let m = measured[setting]!
            guard let fp = m["FP"], let fpP = fp.psnr, let fpS = fp.ssim else { continue }
            var entries: [(bits: Int, weightOnly: (psnr: Double, ssim: Double), activationOnly: (psnr: Double, ssim: Double))] = []
            for (config, w) in m where config.hasSuffix("A32") && config.hasPrefix("W") {
                guard let b = Int(config.dropFirst().dropLast(3)), let a = m["W32A\(b)"], let wp = w.psnr, let ws = w.ssim,
                      let ap = a.psnr, let aS = a.ssim else { continue }
                entries.append((b, (wp, ws), (ap, aS)))
            }
            guard !entries.isEmpty else { continue }
            files.append(.init(name: "verify-o1-asymmetry\(k == 0 ? "" : "-\(k + 1)").svg",
                               svg: PaperCharts.o1Asymmetry(title: "O1: weight-only vs activation-only (\(setting))", fp: (fpP, fpS), entries: entries)))
        }
        return files
    }
}

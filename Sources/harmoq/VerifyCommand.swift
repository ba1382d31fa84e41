import ArgumentParser
import Foundation
import HarmoQChecks
import HarmoQReport

/// `harmoq verify [T1|T2|T3|T4|T5|O1|quantizer|all] [--size ci|full] [--seed N] [--json PATH] [-v] [--mutants]`
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the paper's claims against independent computations (GSL, finite differences, brute force).",
        discussion: "Prints failing scaled ratios (all with -v), a verdict table, and `N passed, N failed`. Exit status 1 on any failure.")

    @Argument(help: "Claim to check: T1, T2, T3, T4, T5, O1, quantizer or all.")
    var claim: String = "all"

    @Option(help: "Problem size: ci (about a minute for all) or full.")
    var size: CheckSize = .ci

    @Option(help: "Seed of every synthetic case (decimal or 0x-hex).")
    var seed: String = "0x2A"

    @Option(help: "Also write the report as JSON to this path.")
    var json: String?

    @Flag(name: .shortAndLong, help: "Print passing and measured lines too.")
    var verbose = false

    @Flag(help: "Run each checker against its deliberately wrong implementations instead: checker-side mutants and mutants injected into the shipped core (HarmoQ.ShippedMutant).")
    var mutants = false

    @Option(help: "Also write SVG charts into this folder: every checker ratio against its threshold, and the O1 asymmetry.")
    var svg: String?

    func run() throws {
        let sz = size
        let s = seed.lowercased()
        guard let sd = s.hasPrefix("0x") ? UInt64(s.dropFirst(2), radix: 16) : UInt64(s) else {
            throw CLIError("harmoq verify: --seed must be an unsigned integer, got \(seed)")
        }
        let ids: [String]
        if claim.lowercased() == "all" { ids = CheckRegistry.claimIDs }
        else if let id = CheckRegistry.claimIDs.first(where: { $0.lowercased() == claim.lowercased() }) { ids = [id] }
        else { throw CLIError("harmoq verify: unknown claim \(claim); expected one of \(CheckRegistry.claimIDs.joined(separator: ", ")) or all") }

        if mutants {
            let checkers = ids.compactMap { CheckRegistry.checker($0) }
            let report = MutantReport.run(checkers, size: sz, seed: sd)
            print(report.text())
            if let path = json { try write(try JSONEncoder.pretty.encode(report), to: path) }
            if !report.meetsTarget { throw ExitCode(1) }
            return
        }
        let report = CheckReport(size: sz, seed: sd, runs: CheckRegistry.run(ids, size: sz, seed: sd))
        print(report.text(verbose: verbose))
        if let path = json { try write(try report.json(), to: path) }
        if let svg { try ChartFiles.write(VerifyCharts.files(report), to: svg) }
        if report.failed > 0 { throw ExitCode(1) }
    }

    private func write(_ data: Data, to path: String) throws {
        do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) }
        catch { throw CLIError("harmoq verify: cannot write \(path): \(error)") }
    }
}

extension JSONEncoder {
    static var pretty: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }
}

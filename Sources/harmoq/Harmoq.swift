import ArgumentParser

@main
struct Harmoq: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "harmoq",
        abstract: "Verify HarmoQ's claims, run SR transformers, and calibrate them with HarmoQ and its baselines.",
        version: HarmoqVersion.string,
        subcommands: [Verify.self, Infer.self, Eval.self, Inspect.self, Calibrate.self, Refine.self, Tables.self, GoldenCommand.self, Bench.self, ExportOnnx.self, Audit.self]
    )
}

enum HarmoqVersion {
    static let string = "0.1.0"
}

/// Thrown by the CLI for a user-facing error: printed as one line, exit status 2.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

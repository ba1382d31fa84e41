import ArgumentParser

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "(not built yet)")
    func run() throws { throw CLIError("harmoq verify: not built yet") }
}

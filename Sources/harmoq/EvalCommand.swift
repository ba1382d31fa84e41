import ArgumentParser

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "eval", abstract: "(not built yet)")
    func run() throws { throw CLIError("harmoq eval: not built yet") }
}

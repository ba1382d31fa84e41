import ArgumentParser

struct Infer: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "infer", abstract: "(not built yet)")
    func run() throws { throw CLIError("harmoq infer: not built yet") }
}

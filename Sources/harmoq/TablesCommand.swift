import ArgumentParser

struct Tables: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tables", abstract: "(not built yet)")
    func run() throws { throw CLIError("harmoq tables: not built yet") }
}

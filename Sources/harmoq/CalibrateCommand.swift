import ArgumentParser

struct Calibrate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "calibrate", abstract: "(not built yet)")
    func run() throws { throw CLIError("harmoq calibrate: not built yet") }
}

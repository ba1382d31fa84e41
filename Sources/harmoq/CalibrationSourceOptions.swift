import ArgumentParser

/// `--shared` and `--sources`: where calibration images come from; shared by every command that draws patches
/// (calibrate, refine, export-onnx).
struct CalibrationSourceOptions: ParsableArguments {
    @Option(help: "Folder of ../shared (developers' data: the default calibration sources DIV2K-calib and T91).")
    var shared: String = "../shared"

    @Option(help: "Comma-separated folders of calibration images (.png/.bmp; never a test set: Set5/Set14 and other benchmark sets are refused). Default: <shared>/data/DIV2K-calib,<shared>/data/train/T91 when ../shared is there, else .cache/calib-images (three CC0 images; `make fetch-images` fetches them).")
    var sources: String?

    /// The folders to draw from: `--sources`, else `CalibrationCLI.defaultSources` (messages name `command`).
    func resolve(command: String) throws -> [String] {
        if let sources {
            let dirs = sources.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !dirs.isEmpty else { throw CLIError("harmoq \(command): --sources is empty; pass folders of calibration images, comma-separated") }
            return dirs
        }
        return try CalibrationCLI.defaultSources(shared: shared, command: command)
    }
}

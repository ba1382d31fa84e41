import ArgumentParser
import SRCalibration

/// `--allow-model-mismatch`, shared by every command that applies a QPARAMS file to a model file.
struct ModelBindingOptions: ParsableArguments {
    @Flag(help: "Apply the QPARAMS even when it was calibrated on another model (other architecture, scale or weights: the file records them, with a SHA-256 fingerprint of the weights); prints a warning instead of refusing.")
    var allowModelMismatch = false

    /// Reads `quant` and checks it against the model `identity`; warnings go to stderr prefixed with `command`.
    func read(_ quant: String, for identity: ModelIdentity, command: String) throws -> QParams {
        try QParams.read(path: quant, for: identity, allowMismatch: allowModelMismatch) { CalibrationCLI.stderr("harmoq \(command): " + $0) }
    }
}

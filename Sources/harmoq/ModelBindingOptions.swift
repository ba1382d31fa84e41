import ArgumentParser
import SRCalibration
import SREngine
import SRInteger
import SRIO

/// `--allow-model-mismatch`, shared by every command that applies a QPARAMS file to a model file.
struct ModelBindingOptions: ParsableArguments {
    @Flag(help: "Apply the QPARAMS even when it was calibrated on another model (other architecture, scale or weights: the file records them, with a SHA-256 fingerprint of the weights); prints a warning instead of refusing.")
    var allowModelMismatch = false

    /// Reads `quant` and checks it against the model `identity`; warnings go to stderr prefixed with `command`.
    func read(_ quant: String, for identity: ModelIdentity, command: String) throws -> QParams {
        try QParams.read(path: quant, for: identity, allowMismatch: allowModelMismatch) { CalibrationCLI.stderr("harmoq \(command): " + $0) }
    }
}

extension ModelBindingOptions {
    /// `IntegerSetup.make` with the QPARAMS `quant` (when given) read and checked against the model `identity`.
    func integerSetup(model: any SRModel, bits: String?, quant: String?, calibration: [Tensor], identity: ModelIdentity,
                      command: String) throws -> IntegerSetup {
        let q = try quant.map { try read($0, for: identity, command: command) }
        do { return try IntegerSetup.make(model: model, bits: bits, qparams: q, source: quant, calibration: calibration) }
        catch let e as IntegerError { throw CLIError(e.description) }
    }
}

import ArgumentParser

/// `--model`: the model weights a command loads; one definition for every command that needs one (audit, calibrate,
/// eval, export-onnx, infer, inspect, refine). `bench` has a default model and declares its own option with this help.
struct ModelOptions: ParsableArguments {
    static let help = "Model weights: .safetensors or PyTorch .pth (DAT-light or SwinIR-light; architecture and scale read from the keys)."

    @Option(help: ArgumentHelp(ModelOptions.help))
    var model: String
}

/// `--quant` of the commands that need a plan (audit, refine): the QPARAMS file written by `harmoq calibrate`.
/// (`eval`, `infer`, `export-onnx` and `bench` take an optional plan whose meaning is their own and say so in their help;
/// `--allow-model-mismatch` is `ModelBindingOptions`.)
struct PlanOptions: ParsableArguments {
    @Option(help: "QPARAMS file written by `harmoq calibrate` (its .json sidecar must sit beside it).")
    var quant: String
}

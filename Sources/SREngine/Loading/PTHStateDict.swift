import SRIO

/// `.pth` state dicts through SRIO's restricted unpickler (prefixes params/params_ema/module. handled there).
enum PTHStateDict {
    static func read(path: String) throws -> [String: Tensor] {
        try PyTorchCheckpoint.read(path: path)
    }
}

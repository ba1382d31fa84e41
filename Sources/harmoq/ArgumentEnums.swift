import ArgumentParser
import HarmoQ
import HarmoQChecks
import SRCalibration
import SREngine

// Option enums parsed by ArgumentParser (typed options instead of strings checked by hand): an invalid value is
// refused with the list of valid ones before any work starts.

extension GradientMode: ExpressibleByArgument {}
extension ProjectionKind: ExpressibleByArgument {}
extension ProjectionAxis: ExpressibleByArgument {}
extension DQCTrainer.Options.Budget: ExpressibleByArgument {}
extension QuantScheme: ExpressibleByArgument {}
extension ZeroPoint: ExpressibleByArgument {}
extension FakeQuantGradient: ExpressibleByArgument {}
extension OperandPolicy: ExpressibleByArgument {}
extension CheckSize: ExpressibleByArgument {}

/// `--src-regressor fp|quantized` (the CLI's names for `SRCRegressor.fullPrecision` / `.quantized`).
extension SRCRegressor: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument {
        case "fp": self = .fullPrecision
        case "quantized": self = .quantized
        default: return nil
        }
    }
    public static var allValueStrings: [String] { ["fp", "quantized"] }
}

/// `--method NAME`: a name of `MethodRegistry` (the one list of calibration methods).
struct MethodName: ExpressibleByArgument, Sendable {
    let registered: RegisteredMethod
    init?(argument: String) {
        guard let m = try? MethodRegistry.named(argument) else { return nil }
        registered = m
    }
    init(_ name: String) { registered = try! MethodRegistry.named(name) }
    var name: String { registered.name }
    var defaultValueDescription: String { name }
    static var allValueStrings: [String] { MethodRegistry.names }
    /// Help text listing every registered method with its summary.
    static var help: String {
        MethodRegistry.all.map { "\($0.name) — \($0.summary)" }.joined(separator: "; ")
    }
}

/// `--rotate none|hadamard|random` (calibrate, tables): `none` = no online rotations.
enum RotateOption: String, CaseIterable, ExpressibleByArgument, Sendable {
    /// `learned`: `calibrate --rotate` only (Hadamard start, learned by the block refinement).
    case none, hadamard, random, learned
    var kind: RotationKind? { self == .none ? nil : RotationKind(rawValue: rawValue) }
}

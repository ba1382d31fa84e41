import Foundation
import HarmoQ
import SRIO

/// Model size per weight format: every Linear weight packed at b bits (symmetric per-channel MinMax,
/// plus 4 bytes of scale per output channel); all other tensors stay F32.
public struct ModelSizeReport: Sendable, CustomStringConvertible {
    public struct Row: Sendable {
        /// 32 for the FP32 model, else the packed bit width.
        public let bits: Int
        /// Bytes of the Linear weights (codes + scales, or F32).
        public let linearBytes: Int
        /// Bytes of all tensor data.
        public let totalBytes: Int
        /// Size of the serialized safetensors file (header included).
        public let fileBytes: Int
    }

    public let rows: [Row]
    public let linearCount: Int

    /// Packs the Linear weights named `linearNames` (keys `N.weight`) of `stateDict` at each of `bits`.
    public static func measure(stateDict: [String: Tensor], linearNames: [String],
                               bits: [Int] = [8, 4, 3, 2]) throws -> ModelSizeReport {
        let linearKeys = Set(linearNames.map { $0 + ".weight" })
        let fp32Total = stateDict.values.reduce(0) { $0 + 4 * $1.count }
        let fp32Linear = linearKeys.reduce(0) { $0 + 4 * (stateDict[$1]?.count ?? 0) }
        let fp32File = try SafeTensors.serialize(stateDict).count
        var rows = [Row(bits: QuantBits.float, linearBytes: fp32Linear, totalBytes: fp32Total, fileBytes: fp32File)]
        let rest = stateDict.filter { !linearKeys.contains($0.key) }
        for b in bits {
            var packed: [String: PackedLinearWeight] = [:]
            for name in linearNames {
                guard let w = stateDict[name + ".weight"] else { throw IntegerError("state dict has no '\(name).weight'") }
                packed[name] = try PackedLinearWeight.minMax(w, bits: b).0
            }
            let file = PackedModelFile(floatTensors: rest, packed: packed)
            rows.append(Row(bits: b, linearBytes: packed.values.reduce(0) { $0 + $1.byteCount },
                            totalBytes: file.dataBytes, fileBytes: try file.serialize().count))
        }
        return ModelSizeReport(rows: rows, linearCount: linearNames.count)
    }

    public var description: String {
        let base = rows[0]
        var s = "format  linear-weight bytes (×smaller)  model data bytes (×smaller)  file bytes\n"
        for r in rows {
            let name = QuantBits.isQuantized(r.bits) ? "INT\(r.bits)" : "FP32"
            s += name.padding(toLength: 8, withPad: " ", startingAt: 0)
                + "\(r.linearBytes) (\(fmt(Double(base.linearBytes) / Double(r.linearBytes))))".padding(toLength: 32, withPad: " ", startingAt: 0)
                + "\(r.totalBytes) (\(fmt(Double(base.totalBytes) / Double(r.totalBytes))))".padding(toLength: 29, withPad: " ", startingAt: 0)
                + "\(r.fileBytes)\n"
        }
        return s + "(\(linearCount) Linear weights packed; convolutions, norms, biases and tables stay F32)"
    }

    private func fmt(_ v: Double) -> String { String(format: "%.2f×", v) }
}

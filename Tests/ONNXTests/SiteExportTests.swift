import Foundation
import HarmoQ
import SRCalibration
import Testing
import _TestSupport
@testable import ONNXExport

/// `SiteExport.run` on the real DAT-light ×2 with a tiny HarmoQ calibration (HSO scales included): the written files
/// agree with each other and with the graph's own initializers, read back from the .onnx bytes — the same comparison
/// ci/onnx-check.py makes against onnxruntime, here against an exact Float64 evaluation, without Python.
@Suite struct SiteExportTests {
    /// DAT-light ×2 and calibration images: ../shared, else `make fetch-model fetch-images` (.cache/).
    static var model: String { TestInputs.datX2 ?? "" }
    static var calib: String { TestInputs.calibrationSource ?? "" }

    static func floats(_ path: String) throws -> [Float] {
        let b = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var out: [Float] = []
        out.reserveCapacity(b.count / 4)
        for i in stride(from: 0, to: b.count, by: 4) {
            let lo = UInt32(b[i]) | (UInt32(b[i + 1]) << 8)
            let hi = (UInt32(b[i + 2]) << 16) | (UInt32(b[i + 3]) << 24)
            out.append(Float(bitPattern: lo | hi))
        }
        return out
    }

    /// Both zero points of HarmoQ corrected's affine activation grid: float (Clip, Sub α, uint8 QDQ, Add α) and integer
    /// (plain QDQ with zero point z).
    @Test(.enabled(if: TestInputs.canCalibrateDATx2, Comment(rawValue: TestInputs.missingModelOrImages)),
          arguments: [ZeroPoint.float, .integer])
    func exportedFilesAgreeWithTheGraphWithinTheFloat32Bound(zeroPoint: ZeroPoint) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-export-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var cfg = HarmoQConfig.corrected()
        cfg.iterations = 5
        cfg.warmupIterations = 0
        cfg.zeroPoint = zeroPoint
        var opts = ModelCalibrationOptions(method: .harmoq(cfg), weightBits: 4, activationBits: 4)
        opts.siteLimit = 2
        var req = CalibrationRun.Request(modelPath: Self.model, options: opts,
                                         sources: [Self.calib], toolVersion: "test")
        req.patchCount = 1
        let qp = try CalibrationRun.run(req).qparams
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try qp.write(to: dir + "/q.qparams")

        var ex = SiteExport.Request(modelPath: Self.model, quantPath: dir + "/q.qparams", outDir: dir + "/sites",
                                    siteLimit: nil, sources: [Self.calib], toolVersion: "test")
        ex.rowsPerSite = 256
        let index = try SiteExport.run(ex)
        let exported = index.sites.filter(\.exported)
        #expect(!exported.isEmpty)
        #expect(exported.contains { $0.hsoScale != nil })

        for e in exported {
            let (rows, d, m) = (e.rows, e.inFeatures, e.outFeatures)
            #expect(rows == 256)
            let x = try Self.floats(dir + "/sites/" + e.input!)
            let y = try Self.floats(dir + "/sites/" + e.output!)
            let affine = e.activationScheme == "affine"
            let raw = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/sites/" + e.codes!)))
            let codes = raw.map { affine ? Float($0) : Float(Int8(bitPattern: $0)) }
            #expect(x.count == rows * d && y.count == rows * m && codes.count == rows * d)

            let graph = try #require(try ProtoDecoder.Message(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/sites/" + e.onnx!)))).message(7))
            var inits: [String: ProtoDecoder.Message] = [:]
            for t in try graph.messages(5) { inits[t.string(8) ?? ""] = t }
            let step = try #require(inits["x_scale"]?.packedFloats(4).first)
            #expect(step == e.activationStep)
            let hso = inits["hso_scale"]?.packedFloats(4)
            #expect(hso == e.hsoScale)
            let wCodes = try #require(inits["w_codes"]?.bytes(9)).map { Int8(bitPattern: $0) }
            let wScale = try #require(inits["w_scale"]).packedFloats(4)
            let bias = inits["bias"]?.packedFloats(4) ?? [Float](repeating: 0, count: m)
            #expect(wCodes.count == d * m && wScale.count == m && bias.count == m)

            // Integer zero point: plain QDQ, codes round(x/Δ) + z, x̂ = (q − z)·Δ; the float one is the shift around it.
            let z = e.activationZeroPoint
            #expect(affine == (zeroPoint == .integer ? z != nil : inits["x_lower"] != nil))
            let shifted = affine && z == nil
            let lower = inits["x_lower"]?.packedFloats(4).first ?? 0
            #expect(shifted == (inits["x_lower"] != nil))
            if shifted { #expect(lower == e.activationLower) }
            let zf = Float(z ?? 0)
            if let z { #expect(inits["x_zero_point"]?.bytes(9) == [UInt8(z)]) }
            // Codes: round half to even of the float32 grid coordinate, clipped — as the graph's (Clip, Sub,)
            // QuantizeLinear and Clip compute it.
            for i in 0..<(rows * d) {
                var xs = hso.map { x[i] / $0[i % d] } ?? x[i]
                if shifted { xs = Swift.min(Swift.max(xs, lower), e.activationUpper!) - lower }
                let c = Swift.min(Swift.max((xs / step).rounded(.toNearestOrEven) + zf, Float(e.codeMin!)), Float(e.codeMax!))
                if c != codes[i] { Issue.record("\(e.site): code \(codes[i]) at \(i), expected \(c)"); break }
            }
            // Outputs: within γ_{d+3}·(Σ|x̂ŵ| + |b|) of the exact value (one float32 evaluation; docs/onnx.md); affine
            // x̂ = qΔ + α adds one rounding bounded by u·(|qΔ| + |α|).
            let u = 0x1p-24, n = Double(d + (shifted ? 4 : 3)), gamma = n * u / (1 - n * u)
            var worst = 0.0
            for r in 0..<rows { for o in 0..<m {
                var exact = Double(bias[o]), abs = Swift.abs(Double(bias[o]))
                for k in 0..<d {
                    let qd = Double(Float(codes[r * d + k]) - zf) * Double(step)
                    let wv = Double(Float(wCodes[k * m + o]) * wScale[o])
                    exact += (qd + Double(lower)) * wv
                    abs += (Swift.abs(qd) + Swift.abs(Double(lower))) * Swift.abs(wv)
                }
                let bound = gamma * abs
                let err = Swift.abs(Double(y[r * m + o]) - exact)
                worst = Swift.max(worst, bound > 0 ? err / bound : (err > 0 ? .infinity : 0))
            } }
            #expect(worst <= 1, "\(e.site): largest |y − exact| / bound = \(worst)")
        }
    }

    /// A rotated plan (MinMax W4A4, `--rotate hadamard`, the first 2 sites: block 0's qkv, rotated, and its q operand):
    /// the export no longer refuses it; the qkv graph carries R (the plan's matrix, as Float32) and the written codes are
    /// those of x·R — against a Float64 evaluation of x·R from the graph's own R, equal wherever the grid coordinate is
    /// farther from a half-integer than the float32 product's error bound γ_d·Σ|x_k R_kj|/Δ (the rest may round either way).
    @Test(.enabled(if: TestInputs.canCalibrateDATx2, Comment(rawValue: TestInputs.missingModelOrImages)))
    func rotatedPlanIsExportedWithItsRotation() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-export-rot-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var opts = ModelCalibrationOptions(method: .minMax, weightBits: 4, activationBits: 4)
        opts.siteLimit = 2
        opts.rotation = .hadamard
        var req = CalibrationRun.Request(modelPath: Self.model, options: opts, sources: [Self.calib], toolVersion: "test")
        req.patchCount = 1
        let qp = try CalibrationRun.run(req).qparams
        let rotation = try #require(qp.sites.first?.rotation)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try qp.write(to: dir + "/q.qparams")
        var ex = SiteExport.Request(modelPath: Self.model, quantPath: dir + "/q.qparams", outDir: dir + "/sites",
                                    siteLimit: nil, sources: [Self.calib], toolVersion: "test")
        ex.rowsPerSite = 256
        let e = try #require(try SiteExport.run(ex).sites.first { $0.exported })
        #expect(e.rotation == "hadamard")
        let d = e.inFeatures
        let graph = try #require(try ProtoDecoder.Message(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/sites/" + e.onnx!)))).message(7))
        var inits: [String: ProtoDecoder.Message] = [:]
        for t in try graph.messages(5) { inits[t.string(8) ?? ""] = t }
        let R = try #require(inits["rotation"]).packedFloats(4)
        #expect(R == (try rotation.rotation()).floatMatrix)
        #expect(try graph.messages(1).first?.string(4) == "MatMul")
        let x = try Self.floats(dir + "/sites/" + e.input!)
        let codes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/sites/" + e.codes!))).map { Float(Int8(bitPattern: $0)) }
        let step = Double(try #require(e.activationStep))
        let u = 0x1p-24, gamma = Double(d) * u / (1 - Double(d) * u)
        var checked = 0, ambiguous = 0, differsFromUnrotated = 0
        for r in 0..<e.rows { for j in 0..<d {
            var v = 0.0, mag = 0.0
            for k in 0..<d { let t = Double(x[r * d + k]) * Double(R[k * d + j]); v += t; mag += Swift.abs(t) }
            v /= step
            let margin = gamma * mag / step + 3 * u * Swift.abs(v)
            if Swift.abs(v - (v.rounded(.down) + 0.5)) <= margin { ambiguous += 1; continue }
            let expected = Swift.min(Swift.max(v.rounded(.toNearestOrEven), Double(e.codeMin!)), Double(e.codeMax!))
            checked += 1
            if Float(expected) != codes[r * d + j] { Issue.record("\(e.site): code \(codes[r * d + j]) at row \(r) col \(j), expected \(expected)"); return }
            let plain = Swift.min(Swift.max((Double(x[r * d + j]) / step).rounded(.toNearestOrEven), Double(e.codeMin!)), Double(e.codeMax!))
            if plain != expected { differsFromUnrotated += 1 }
        }}
        #expect(checked > 0 && ambiguous < checked / 100, "\(checked) codes checked, \(ambiguous) within the margin")
        #expect(differsFromUnrotated > checked / 20, "the codes of x and of x·R differ at \(differsFromUnrotated) of \(checked) elements")
    }
}

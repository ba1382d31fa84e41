// swift-tools-version: 6.1
// harmoq — a verification suite and calibrator for HarmoQ post-training quantization
// of super-resolution transformers. See README.md and Proofs/README.md.
import PackageDescription

/// Numeric targets are compiled with -O even in debug builds: the unit tests run real
/// model forwards and covariance solves, which are 10–1000× slower at -Onone.
let optimizedInDebug: [SwiftSetting] = [
    .unsafeFlags(["-O"], .when(configuration: .debug)),
    .swiftLanguageMode(.v5),
]
let v5: [SwiftSetting] = [.swiftLanguageMode(.v5)]

let package = Package(
    name: "harmoq",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "HarmoQ", targets: ["HarmoQ"]),
        .library(name: "SREngine", targets: ["SREngine"]),
        .executable(name: "harmoq", targets: ["harmoq"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
    ],
    targets: [
        // MARK: - Core (never imports GSL)
        /// Quantizers, observers, statistics, solvers, calibration (Algorithm 1).
        .target(name: "HarmoQ", swiftSettings: optimizedInDebug),
        /// Fast float32 kernels in C (runtime ISA dispatch with target_clones) + slow references.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3", "-ffp-contract=fast"])]),
        /// libpng (Debian libpng-dev).
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        /// Tensors, safetensors / .pth loaders, PNG/BMP, MATLAB bicubic, PSNR/SSIM.
        .target(name: "SRIO", dependencies: ["CPNG", "HarmoQ"], swiftSettings: optimizedInDebug),
        /// SwinIR-light and DAT-light inference with named quantization sites.
        .target(name: "SREngine", dependencies: ["SRIO", "HarmoQ", "CKernels"], swiftSettings: optimizedInDebug),

        /// Model-level calibration: HarmoQ Algorithm 1 and baselines over every site of a model; QPARAMS files.
        .target(name: "SRCalibration", dependencies: ["HarmoQ", "SREngine", "SRIO"], swiftSettings: optimizedInDebug),

        /// Integer execution: int8 GEMM kernels (VNNI / AVX2 / reference, chosen at run time) and low-bit unpacking.
        .target(name: "CIntKernels", cSettings: [.unsafeFlags(["-O3"])]),
        /// Packed low-bit weights, integer linear sites, parity with fake quantization.
        .target(name: "SRInteger", dependencies: ["HarmoQ", "SRIO", "SREngine", "SRCalibration", "CIntKernels"], swiftSettings: optimizedInDebug),
        /// ONNX QDQ export of quantized Linear sites (hand-written protobuf wire encoder; checked by ci/onnx-check.sh).
        .target(name: "ONNXExport", dependencies: ["HarmoQ", "SRIO", "SREngine", "SRCalibration"],
                swiftSettings: optimizedInDebug),

        /// `harmoq-backward-bench`: speed of the DAT-light backward vs the engine forward (release build).
        .executableTarget(name: "harmoq-backward-bench", dependencies: ["SREngine", "SRIO"], swiftSettings: v5),

        // MARK: - Independent oracle (never imports the core)
        .systemLibrary(name: "CGSL", pkgConfig: "gsl", providers: [.apt(["libgsl-dev"])]),
        .target(name: "GSLOracle", dependencies: ["CGSL"], swiftSettings: v5),

        // MARK: - Checks and CLI (link both)
        .target(name: "HarmoQChecks", dependencies: ["HarmoQ", "GSLOracle", "SREngine", "SRIO", "SRCalibration"],
                swiftSettings: optimizedInDebug),
        /// Golden-file regression: producers, manifest, compare with tolerances, explicit update with a reason.
        .target(name: "HarmoQGolden", dependencies: ["HarmoQ", "HarmoQChecks", "SREngine", "SRIO", "SRCalibration"],
                swiftSettings: optimizedInDebug),
        /// Audit report (self-contained HTML + Markdown) and a tiny SVG chart library.
        .target(name: "HarmoQReport", dependencies: ["HarmoQ", "SREngine", "SRIO", "SRCalibration"], swiftSettings: optimizedInDebug),
        .executableTarget(name: "harmoq", dependencies: [
            "HarmoQ", "SREngine", "SRIO", "SRCalibration", "SRInteger", "HarmoQChecks", "HarmoQGolden", "GSLOracle",
            "HarmoQReport", "ONNXExport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: v5),

        /// Test support shared by test targets (not API): locating ../shared.
        .target(name: "_TestSupport", swiftSettings: v5),

        // MARK: - Tests (Swift Testing; run with --disable-xctest)
        .testTarget(name: "HarmoQTests", dependencies: [
            "HarmoQ", .product(name: "PropertyBased", package: "swift-property-based"),
        ], swiftSettings: v5),
        .testTarget(name: "OracleTests", dependencies: [
            "GSLOracle", "HarmoQ", .product(name: "PropertyBased", package: "swift-property-based"),
        ], swiftSettings: v5),
        .testTarget(name: "CheckTests", dependencies: ["HarmoQChecks", "HarmoQ", "GSLOracle", "_TestSupport"], swiftSettings: v5),
        .testTarget(name: "EngineTests", dependencies: ["SREngine", "SRIO", "HarmoQ", "CKernels", "_TestSupport",
            .product(name: "PropertyBased", package: "swift-property-based"),
        ], swiftSettings: v5),
        .testTarget(name: "CalibrationTests", dependencies: ["SRCalibration", "SRInteger", "SREngine", "SRIO", "HarmoQ", "_TestSupport",
            .product(name: "PropertyBased", package: "swift-property-based"),
        ], exclude: ["Fixtures"], swiftSettings: v5),
        .testTarget(name: "GoldenTests", dependencies: ["HarmoQGolden", "HarmoQ"], swiftSettings: v5),
        .testTarget(name: "IntegerTests", dependencies: ["SRInteger", "SRCalibration", "CIntKernels", "SREngine", "SRIO", "HarmoQ", "_TestSupport",
            .product(name: "PropertyBased", package: "swift-property-based"),
        ], swiftSettings: v5),
        .testTarget(name: "ONNXTests", dependencies: ["ONNXExport", "SRCalibration", "SREngine", "SRIO", "HarmoQ", "_TestSupport"], swiftSettings: v5),
        .testTarget(name: "ReportTests", dependencies: ["HarmoQReport", "SRCalibration", "SREngine", "HarmoQ"], swiftSettings: v5),
        /// 2DQuant port (fake-quantizer backward, DOBI/forward/DQC vs the official code's tensors, SwinIR-light backward).
        .testTarget(name: "TwoDQuantTests", dependencies: ["SREngine", "SRCalibration", "SRIO", "HarmoQ", "_TestSupport"],
                    swiftSettings: v5),
        /// Backward kernels and the DAT-light backward (FD, Float64 references, PyTorch autograd reference gradients).
        .testTarget(name: "BackwardTests", dependencies: ["SREngine", "SRIO", "HarmoQ", "_TestSupport"], swiftSettings: v5),
        .testTarget(name: "IOTests", dependencies: ["SRIO", "SREngine", "HarmoQ"], exclude: ["Fixtures"], swiftSettings: v5),
    ]
)

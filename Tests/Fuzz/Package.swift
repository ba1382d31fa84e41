// swift-tools-version: 6.1
// libFuzzer targets for harmoq's parsers. Built only by ci/fuzz.sh:
//   swift build -c release --package-path Tests/Fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
import PackageDescription

let package = Package(
    name: "harmoq-fuzz",
    dependencies: [.package(name: "harmoq", path: "../..")],
    targets: [
        .target(name: "FuzzSupport"),
        .executableTarget(name: "FuzzSafeTensors", dependencies: ["FuzzSupport", .product(name: "SREngine", package: "harmoq")]),
        .executableTarget(name: "FuzzPickle", dependencies: ["FuzzSupport", .product(name: "SREngine", package: "harmoq")]),
        .executableTarget(name: "FuzzPTH", dependencies: ["FuzzSupport", .product(name: "SREngine", package: "harmoq")]),
        .executableTarget(name: "FuzzPNG", dependencies: ["FuzzSupport", .product(name: "SREngine", package: "harmoq")]),
        .executableTarget(name: "FuzzBMP", dependencies: ["FuzzSupport", .product(name: "SREngine", package: "harmoq")]),
    ]
)

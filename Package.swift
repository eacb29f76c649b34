// swift-tools-version:5.9
// nhkit's Swift package (add it by this repository's URL). The sources live in ios_bridge/:
//   NHCore   platform-neutral core (Foundation only; iOS, macOS, Linux): hash, seed, exact resize,
//            normalisation, projections, bundle reader, self-test report;
//   NHKit    Apple adapters: Core ML engine, ImageIO decoder, NeuralHasher, SelfTestRunner
//            (compiles to an empty module where Core ML / ImageIO do not exist);
//   NHLiteRT the real LiteRT runtime (libLiteRt from the ai-edge-litert 2.3.0 wheel, loaded at
//            run time) as an embedding engine for TFLite bundles on Linux and macOS.
// Platform minimums follow the Core ML ML-program model type the exporter writes (iOS 16 /
// macOS 13). ios_bridge/test.sh runs the suite; ios_bridge/README.md explains everything.
import PackageDescription

let package = Package(
    name: "nhkit",
    platforms: [.iOS(.v16), .macOS(.v13)],
    products: [
        .library(name: "NHCore", targets: ["NHCore"]),
        .library(name: "NHKit", targets: ["NHKit"]),
        .library(name: "NHLiteRT", targets: ["NHLiteRT"]),
    ],
    targets: [
        .target(name: "NHCore", path: "ios_bridge/Sources/NHCore"),
        .target(name: "NHKit", dependencies: ["NHCore"], path: "ios_bridge/Sources/NHKit"),
        .target(name: "CLiteRt", path: "ios_bridge/Sources/CLiteRt",
                linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),
        .target(name: "NHLiteRT", dependencies: ["NHCore", "CLiteRt"], path: "ios_bridge/Sources/NHLiteRT"),
        // Benchmarks (not tests; benchmarks/ios_resize.sh, ios_pipeline.sh and match_bridges.sh run them).
        .executableTarget(name: "NHBench", dependencies: ["NHCore"], path: "ios_bridge/Sources/NHBench"),
        .executableTarget(name: "NHMatchBench", dependencies: ["NHCore"], path: "ios_bridge/Sources/NHMatchBench"),
        .executableTarget(name: "NHPipelineBench", dependencies: ["NHCore", "NHLiteRT"], path: "ios_bridge/Sources/NHPipelineBench"),
        // The tests' PNG decoder (spec step 1 where ImageIO does not exist), shared by the test targets.
        .target(name: "NHTestSupport", dependencies: ["NHCore"], path: "ios_bridge/Tests/NHTestSupport"),
        .testTarget(name: "NHCoreTests", dependencies: ["NHCore", "NHTestSupport"], path: "ios_bridge/Tests/NHCoreTests"),
        .testTarget(name: "NHKitTests", dependencies: ["NHKit", "NHCore"], path: "ios_bridge/Tests/NHKitTests"),
        .testTarget(name: "NHLiteRTTests", dependencies: ["NHLiteRT", "NHCore", "NHTestSupport"], path: "ios_bridge/Tests/NHLiteRTTests"),
    ]
)

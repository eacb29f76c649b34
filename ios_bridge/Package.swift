// swift-tools-version:5.9
// nhkit iOS bridge: a platform-neutral core (NHCore, Foundation only, tested on Linux) and thin
// Apple adapters (NHKit: Core ML + ImageIO, compiled only where those frameworks exist).
import PackageDescription

let package = Package(
    name: "NHKit",
    platforms: [.iOS(.v16), .macOS(.v13)],
    products: [
        .library(name: "NHCore", targets: ["NHCore"]),
        .library(name: "NHKit", targets: ["NHKit"]),
    ],
    targets: [
        .target(name: "NHCore", path: "Sources/NHCore"),
        .target(name: "NHKit", dependencies: ["NHCore"], path: "Sources/NHKit"),
        // `swift run -c release NHBench` times the 4032x3024 -> 360x360 resize (not a test).
        .executableTarget(name: "NHBench", dependencies: ["NHCore"], path: "Sources/NHBench"),
        // `swift run -c release NHMatchBench` times HashMatcher over 10^5 hashes (benchmarks/match_bridges.sh).
        .executableTarget(name: "NHMatchBench", dependencies: ["NHCore"], path: "Sources/NHMatchBench"),
        .testTarget(name: "NHCoreTests", dependencies: ["NHCore"], path: "Tests/NHCoreTests"),
        .testTarget(name: "NHKitTests", dependencies: ["NHKit", "NHCore"], path: "Tests/NHKitTests"),
    ]
)

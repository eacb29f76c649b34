// swift-tools-version:5.9
// TEST-ONLY, NEVER SHIPPED: type-checks NHKit (the Core ML / ImageIO adapters) on Linux, where
// those frameworks do not exist and NHKit would otherwise compile to an empty module.
//
// Sources/NHCore, Sources/NHKit and Tests/NHKitTests/*Tests.swift are symlinks to the real sources; the
// modules CoreML, ImageIO, CoreGraphics and Darwin here are stand-ins declaring exactly the
// Apple APIs NHKit uses, each with the signature from Apple's documentation (URL per
// declaration). Their bodies are never run: `ios_bridge/test.sh` only runs `swift build` here
// (Linux only; on a Mac the real frameworks are used). What this proves: NHKit's code is
// type-correct against those signatures. What it cannot prove: run-time behaviour, code under
// `#if os(iOS)` / `#if os(macOS)` (not compiled on Linux), and API availability annotations.
import PackageDescription

let package = Package(
    name: "NHKitTypeCheck",
    targets: [
        .target(name: "CoreGraphics", path: "Sources/CoreGraphics"),
        .target(name: "ImageIO", dependencies: ["CoreGraphics"], path: "Sources/ImageIO"),
        .target(name: "CoreML", path: "Sources/CoreML"),
        .target(name: "Darwin", path: "Sources/Darwin"),
        .target(name: "NHCore", path: "Sources/NHCore"),
        .target(name: "NHKit", dependencies: ["NHCore", "CoreML", "ImageIO", "CoreGraphics", "Darwin"], path: "Sources/NHKit"),
        // NHKit's tests are compiled too, never run here: a plain target (a test target's generated
        // runner would see the Darwin stand-in and take its Apple-only branch).
        .target(name: "NHKitTests", dependencies: ["NHKit", "NHCore", "CoreML"], path: "Tests/NHKitTests"),
    ]
)

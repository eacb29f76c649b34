import Foundation
import XCTest

#if canImport(CoreML) && canImport(ImageIO)
import CoreML
import NHCore
@testable import NHKit

/// Runs a Core ML bundle's self-test through ImageIO + Core ML on macOS or an iOS simulator /
/// device (`swift test` on a Mac, or `xcodebuild test -scheme NHKit -destination ...`).
///
/// Bundles: `NHKIT_TEST_BUNDLES` (paths separated by `:`), or Core ML fixtures committed under
/// `ios_bridge/Tests/Fixtures/*/`, `tests/data/bundles/*/`, `tests/fixtures/bundles/*/`.
/// `ios_bridge/test.sh` passes the bundles `tests/fixture_bundles.py` exports (a cache keyed on
/// the working tree's content) in `NHKIT_TEST_BUNDLES`; no build folder is scanned, so a direct
/// `swift test` never runs against stale bundles.
/// `NHKIT_COMPUTE_UNITS` = cpuOnly (default) | cpuAndGPU | cpuAndNeuralEngine | all.
/// Each report is attached to the test run and, with `NHKIT_REPORT_OUT=dir`, written there.
final class SelfTestOnDeviceTests: XCTestCase {
    static let repoRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func coreMLBundles() -> [URL] {
        var dirs: [URL] = []
        if let env = ProcessInfo.processInfo.environment["NHKIT_TEST_BUNDLES"] {
            dirs += env.split(separator: ":").map { URL(fileURLWithPath: String($0)) }
        }
        let fm = FileManager.default
        for parent in ["ios_bridge/Tests/Fixtures", "tests/data/bundles", "tests/fixtures/bundles"] {
            let p = repoRoot.appendingPathComponent(parent)
            for name in ((try? fm.contentsOfDirectory(atPath: p.path)) ?? []).sorted() {
                let d = p.appendingPathComponent(name)
                if fm.fileExists(atPath: d.appendingPathComponent("manifest.json").path) { dirs.append(d) }
            }
        }
        return dirs.filter { (try? NHBundle(url: $0, verifyChecksums: false).manifest.target) == "coreml" }
    }

    static var computeUnits: MLComputeUnits {
        switch ProcessInfo.processInfo.environment["NHKIT_COMPUTE_UNITS"] {
        case "cpuAndGPU": return .cpuAndGPU
        case "cpuAndNeuralEngine": return .cpuAndNeuralEngine
        case "all": return .all
        default: return .cpuOnly
        }
    }

    func testSelfTestPassesOnThisDevice() async throws {
        let bundles = Self.coreMLBundles()
        if bundles.isEmpty {
            throw XCTSkip("no Core ML bundle: set NHKIT_TEST_BUNDLES=/path/to/<id>.coreml-<variant> (from `nhkit export`)")
        }
        for url in bundles {
            let outcome = try await SelfTestRunner(bundleURL: url, computeUnits: Self.computeUnits)
                .run(writeReport: false)
            let attachment = XCTAttachment(data: try outcome.jsonData(), uniformTypeIdentifier: "public.json")
            attachment.name = "\(outcome.report.bundle.bundleID).device-report.json"
            attachment.lifetime = .keepAlways
            add(attachment)
            if let out = ProcessInfo.processInfo.environment["NHKIT_REPORT_OUT"] {
                try outcome.report.write(to: URL(fileURLWithPath: out).appendingPathComponent(attachment.name ?? "report.json"))
            }
            XCTAssertTrue(outcome.report.bundle.checksumsVerified)
            for v in outcome.verdicts {
                XCTAssertTrue(v.passed, "\(outcome.report.bundle.bundleID)/\(v.id): \(v.problems)")
            }
            print(outcome.summary)
        }
    }

    /// ImageIO must give the reference's `decoded` digest for every lossless case (stored
    /// samples, no colour matching, EXIF orientation read but not applied by the decoder).
    func testImageIODecoderMatchesReferenceOnLosslessCases() throws {
        let bundles = Self.coreMLBundles()
        if bundles.isEmpty { throw XCTSkip("no Core ML bundle (see testSelfTestPassesOnThisDevice)") }
        for url in bundles {
            let bundle = try NHBundle(url: url)
            for c in try bundle.loadSelfTestCases().cases where c.lossless {
                let d = try ImageIODecoder().decode(contentsOf: bundle.selfTestURL.appendingPathComponent(c.source))
                XCTAssertEqual(d.orientation ?? 1, c.orientation, c.id)
                let oriented = ExifOrientation(tag: d.orientation).apply(to: d.image)
                XCTAssertEqual(oriented.sha256, c.digests.decoded, "\(c.id): decoded digest")
            }
        }
    }

    /// The engine refuses a model whose real interface differs from the manifest's (as the
    /// Android and LiteRT engines do): here the manifest is altered, the model is not.
    func testInterfaceMismatchIsRefused() async throws {
        guard let url = Self.coreMLBundles().first else { throw XCTSkip("no Core ML bundle") }
        let bundle = try NHBundle(url: url)
        let engine = try await CoreMLEngine.load(bundle: bundle, computeUnits: .cpuOnly)
        var m = bundle.manifest
        m.model.inputs[0].shape = [1, 3, 180, 720]
        XCTAssertThrowsError(try CoreMLEngine(model: engine.model, manifest: m, computeUnits: .cpuOnly,
                                              compiledModelURL: engine.compiledModelURL)) { e in
            XCTAssertTrue("\(e)".contains("the manifest says"), "\(e)")
        }
        m = bundle.manifest
        m.model.inputs[0].dtype = m.model.inputs[0].dtype == "float32" ? "float16" : "float32"
        XCTAssertThrowsError(try CoreMLEngine(model: engine.model, manifest: m, computeUnits: .cpuOnly,
                                              compiledModelURL: engine.compiledModelURL))
        m = bundle.manifest
        m.model.outputs[0].shape = [1, 64]
        XCTAssertThrowsError(try CoreMLEngine(model: engine.model, manifest: m, computeUnits: .cpuOnly,
                                              compiledModelURL: engine.compiledModelURL))
    }

    func testCompiledModelIsCached() async throws {
        guard let url = Self.coreMLBundles().first else { throw XCTSkip("no Core ML bundle") }
        let bundle = try NHBundle(url: url)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nhkit-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = try await CompiledModelCache.compiledModel(for: bundle, cacheDirectory: dir)
        let stamp = try FileManager.default.attributesOfItem(atPath: first.path)[.creationDate] as? Date
        let second = try await CompiledModelCache.compiledModel(for: bundle, cacheDirectory: dir)
        XCTAssertEqual(first, second)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: second.path)[.creationDate] as? Date, stamp)
    }
}
#else
/// Core ML and ImageIO are Apple frameworks; here (e.g. Linux) NHKit compiles to nothing and
/// its tests are skipped with the reason. NHCoreTests covers all platform-neutral logic.
final class SelfTestOnDeviceTests: XCTestCase {
    func testSelfTestPassesOnThisDevice() throws {
        throw XCTSkip("Core ML is not available on this platform: run NHKitTests on macOS 13+ or an iOS 16+ simulator/device")
    }
}
#endif

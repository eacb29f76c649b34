import Foundation
import XCTest
@testable import NHCore
import NHTestSupport

/// NHCore against real bundles written by `nhkit export`: stage digests up to the model input
/// must equal the Python reference's, and steps 6-7 must reproduce the recorded projections,
/// hash and fragile mask from the recorded embedding.
///
/// Bundles come from `NHKIT_TEST_BUNDLES` (paths separated by `:`) and from committed fixtures:
/// `ios_bridge/Tests/Fixtures/*/`, `tests/data/bundles/*/`, `tests/fixtures/bundles/*/`.
/// `ios_bridge/test.sh` passes the bundles `tests/fixture_bundles.py` exports (a cache keyed on
/// the working tree's content) in `NHKIT_TEST_BUNDLES`; no build folder is scanned, so a direct
/// `swift test` never runs against stale bundles.
final class FixtureBundleTests: XCTestCase {
    static func bundleDirs() -> [URL] {
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
        return dirs
    }

    /// Opened (checksums verified) once for the whole class: verification hashes every file.
    private static let opened: Result<[NHBundle], Error> = Result { try bundleDirs().map { try NHBundle(url: $0) } }

    private func bundles() throws -> [NHBundle] {
        if Self.bundleDirs().isEmpty {
            throw XCTSkip("no nhkit bundle to test against: run ios_bridge/test.sh (exports one with nhkit), or set NHKIT_TEST_BUNDLES=/path/to/<bundle_id>")
        }
        return try Self.opened.get()
    }

    func testStagesTwoToFourFromRGB360() throws {
        for bundle in try bundles() {
            let cases = try bundle.loadSelfTestCases()
            XCTAssertFalse(cases.cases.isEmpty)
            for c in cases.cases {
                let label = "\(bundle.manifest.bundleID)/\(c.id)"
                let bytes = [UInt8](try Data(contentsOf: bundle.selfTestURL.appendingPathComponent(c.rgb360)))
                XCTAssertEqual(bytes.count, 360 * 360 * 3, label)
                let img = try RGB8Image(width: 360, height: 360, pixels: bytes)
                XCTAssertEqual(img.sha256, c.digests.resized, "\(label): rgb360 bytes vs digests.resized")
                XCTAssertEqual(Normalise.digest(Normalise.nchw(img)), c.digests.tensor, "\(label): tensor digest")
                // A 360x360 image goes through the resize unchanged.
                XCTAssertEqual(BicubicResize.resize(img), img, label)
            }
        }
    }

    func testStagesOneToFourFromLosslessSources() throws {
        var checked = 0
        for bundle in try bundles() {
            for c in try bundle.loadSelfTestCases().cases where c.source.lowercased().hasSuffix(".png") {
                let label = "\(bundle.manifest.bundleID)/\(c.id)"
                let decoded = try TestPNGDecoder().decode(contentsOf: bundle.selfTestURL.appendingPathComponent(c.source),
                                                          maxPixels: DecodeLimits.defaultMaxPixels)
                XCTAssertEqual(decoded.orientation ?? 1, c.orientation, "\(label): EXIF orientation")
                let orientation = bundle.manifest.spec.orientation == .apply ? ExifOrientation(tag: decoded.orientation) : .up
                let oriented = orientation.apply(to: decoded.image)
                XCTAssertEqual(oriented.sha256, c.digests.decoded, "\(label): decoded digest")
                let resized = BicubicResize.resize(oriented)
                XCTAssertEqual(resized.sha256, c.digests.resized, "\(label): resized digest")
                XCTAssertEqual(Normalise.digest(Normalise.nchw(resized)), c.digests.tensor, "\(label): tensor digest")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 0, "the bundles have no PNG cases")
    }

    func testStepsSixAndSevenFromRecordedEmbedding() throws {
        for bundle in try bundles() {
            let seed = try bundle.loadSeed()
            for c in try bundle.loadSelfTestCases().cases {
                let label = "\(bundle.manifest.bundleID)/\(c.id)"
                let e = try FloatHex.float32s(c.expected.embedding, what: "\(label) embedding")
                let p = try Projection.project(seed: seed, embedding: e)
                XCTAssertEqual(FloatHex.encode(p), c.expected.projections, "\(label): projections")
                XCTAssertEqual(try Projection.hash(projections: p).hex, c.expected.hash, "\(label): hash")
                XCTAssertEqual(try Projection.fragileMask(projections: p, margin: bundle.manifest.spec.fragileMargin).hex,
                               c.expected.fragile, "\(label): fragile mask")
            }
        }
    }

    /// The whole runner with the Linux PNG decoder and an engine that replays the reference
    /// embedding for the reference tensor (and fails for any other tensor). Lossless cases must
    /// then match the reference exactly; JPEG cases fail here (no JPEG decoder on Linux) and must
    /// be reported as failed, not dropped.
    func testSelfTestRunnerReportWithReplayedEmbeddings() throws {
        for bundle in try bundles() {
            let cases = try bundle.loadSelfTestCases()
            let engine = try ReplayEngine(cases)
            let report = try SelfTest.run(bundle: bundle, engine: engine, decoder: TestPNGDecoder(),
                                          bridge: .init(name: "nhkit-ios", version: "0.1.0"),
                                          platform: .init(os: "Linux", osVersion: ProcessInfo.processInfo.operatingSystemVersionString,
                                                          deviceModel: "swift-test"))
            XCTAssertEqual(report.cases.map(\.id), cases.cases.map(\.id))
            let verdicts = SelfTest.evaluate(report, cases: cases, tolerance: bundle.manifest.tolerance)
            for (c, v) in zip(cases.cases, verdicts) {
                if c.source.lowercased().hasSuffix(".png") {
                    XCTAssertTrue(v.passed, "\(bundle.manifest.bundleID)/\(c.id): \(v.problems)")
                    XCTAssertEqual(v.hamming, 0)
                    let r = report.cases.first { $0.id == c.id }
                    XCTAssertEqual(r?.projections, c.expected.projections)
                    XCTAssertEqual(r?.embedding, c.expected.embedding)
                } else {
                    XCTAssertFalse(v.passed, "\(c.id): a non-PNG case cannot pass on Linux")
                    XCTAssertNotNil(report.cases.first { $0.id == c.id }?.error)
                }
            }
            // The mode sampler: every decode case exact with the Linux PNG decoder.
            let modes = verdicts.dropFirst(cases.cases.count)
            XCTAssertEqual(modes.count, cases.decodeCases?.count ?? -1, "exported bundles carry the mode sampler")
            XCTAssertEqual(report.decodeCases?.map(\.id), cases.decodeCases?.map(\.id))
            for v in modes { XCTAssertTrue(v.passed, "\(bundle.manifest.bundleID)/\(v.id): \(v.problems)") }
            // A decoder that ignores the EXIF orientation fails the sampler, naming the mode.
            if let exif8 = cases.decodeCases?.first(where: { $0.mode == "RGB, EXIF orientation 8" }) {
                let upright = SelfTest.runDecodeCase(exif8, bundle: bundle, pipeline: try HashPipeline(bundle: bundle, engine: engine),
                                                     decoder: NoOrientationDecoder())
                var wrong = report
                wrong.decodeCases = [upright]
                let problems = SelfTest.evaluate(wrong, cases: cases, tolerance: bundle.manifest.tolerance)
                    .dropFirst(cases.cases.count).flatMap(\.problems).joined(separator: "\n")
                XCTAssertTrue(problems.contains("mode RGB, EXIF orientation 8 (RGB PNG with eXIf orientation 8): decoded 11x7 orientation 1"), problems)
                XCTAssertTrue(problems.contains("mode I;16 (16-bit grey PNG (high byte, not rounded)): missing from the report"), problems)
            } else {
                XCTFail("no EXIF 8 decode case in \(bundle.manifest.bundleID)")
            }
            if let out = ProcessInfo.processInfo.environment["NHKIT_REPORT_OUT"] {
                try report.write(to: URL(fileURLWithPath: out).appendingPathComponent("\(bundle.manifest.bundleID).linux-report.json"))
            }
        }
    }

    /// The test PNG decoder with the orientation tag dropped (a decoder bug the sampler catches).
    struct NoOrientationDecoder: ImageFileDecoding {
        func decode(contentsOf url: URL, maxPixels: Int) throws -> DecodedImage {
            var d = try TestPNGDecoder().decode(contentsOf: url, maxPixels: maxPixels)
            d.orientation = nil
            return d
        }
    }

    /// Returns the recorded embedding of the case whose tensor digest matches.
    struct ReplayEngine: EmbeddingEngine {
        let byTensor: [String: [Float]]
        init(_ cases: SelfTestCases) throws {
            var m: [String: [Float]] = [:]
            for c in cases.cases { m[c.digests.tensor] = try FloatHex.float32s(c.expected.embedding) }
            byTensor = m
        }
        var runtimeInfo: DeviceReport.Runtime { .init(name: "replay", version: "1", computeUnit: "cpu", threads: 1) }
        func embed(_ tensor: [Float]) throws -> [Float] {
            let d = Normalise.digest(tensor)
            guard let e = byTensor[d] else { throw NHError.engine("no recorded embedding for tensor \(d)") }
            return e
        }
    }
}

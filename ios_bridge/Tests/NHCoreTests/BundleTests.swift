import Foundation
import XCTest
@testable import NHCore

/// Manifest parsing and the checksum verification every reader must do before use.
final class BundleTests: XCTestCase {
    private func makeBundle() throws -> TestBundle {
        let root = try makeTempDir(self)
        let img = try RGB8Image(width: 40, height: 30, pixels: splitmixBytes(seed: 1, count: 40 * 30 * 3))
        return try TestBundle.make(in: root, sources: [.init(id: "c1", image: img, orientation: nil)])
    }

    private func assertOpenFails(_ b: TestBundle, containing needles: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try NHBundle(url: b.url), file: file, line: line) { error in
            for n in needles {
                XCTAssertTrue("\(error)".contains(n), "error \"\(error)\" should mention \"\(n)\"", file: file, line: line)
            }
        }
    }

    func testValidBundleOpensAndVerifies() throws {
        let b = try makeBundle()
        let bundle = try NHBundle(url: b.url)
        XCTAssertTrue(bundle.checksumsVerified)
        XCTAssertEqual(bundle.manifest.bundleID, "test.coreml-fp32")
        XCTAssertEqual(bundle.manifest.input.layout, .nchw)
        XCTAssertNil(bundle.manifest.input.quantization)
        XCTAssertEqual(bundle.manifest.tolerance, BundleManifest.Tolerance(hamming: 0, lossyHamming: 6))
        let manifestBytes = try Data(contentsOf: b.url.appendingPathComponent("manifest.json"))
        XCTAssertEqual(bundle.manifestSHA256, Hex.encode(NHSHA256.digest(manifestBytes)))
        XCTAssertEqual(try bundle.loadSeed(), b.seed)
        XCTAssertEqual(try bundle.loadSelfTestCases().cases.map(\.id), ["c1"])
        XCTAssertEqual(bundle.manifest.files.count, 6)   // 2 model files, seed, cases.json, png, rgb360
    }

    func testTamperedFileSameSizeIsRejected() throws {
        let b = try makeBundle()
        let model = b.url.appendingPathComponent("model.mlpackage/Data/com.apple.CoreML/model.mlmodel")
        var bytes = [UInt8](try Data(contentsOf: model))
        bytes[100] ^= 1
        try Data(bytes).write(to: model)
        assertOpenFails(b, containing: ["model.mlmodel", "sha256"])
        // Opening without verification is possible, and says so.
        XCTAssertFalse(try NHBundle(url: b.url, verifyChecksums: false).checksumsVerified)
    }

    func testTruncatedFileIsRejectedBySize() throws {
        let b = try makeBundle()
        let seedURL = b.url.appendingPathComponent("seed.f32")
        try Data(try Data(contentsOf: seedURL).prefix(49148)).write(to: seedURL)
        assertOpenFails(b, containing: ["seed.f32", "49148", "49152"])
    }

    func testMissingFileIsRejected() throws {
        let b = try makeBundle()
        try FileManager.default.removeItem(at: b.url.appendingPathComponent("selftest/c1.rgb360"))
        assertOpenFails(b, containing: ["c1.rgb360", "missing"])
    }

    func testUnlistedFileInsideModelIsRejected() throws {
        let b = try makeBundle()
        try Data([1, 2, 3]).write(to: b.url.appendingPathComponent("model.mlpackage/Data/com.apple.CoreML/extra.bin"))
        assertOpenFails(b, containing: ["extra.bin", "not listed"])
    }

    func testUnlistedFileAnywhereIsRejectedButDSStore() throws {
        let b = try makeBundle()
        try Data([1]).write(to: b.url.appendingPathComponent(".DS_Store"))
        try Data([1]).write(to: b.url.appendingPathComponent("selftest/.DS_Store"))
        XCTAssertNoThrow(try NHBundle(url: b.url))
        try Data([1]).write(to: b.url.appendingPathComponent("selftest/notes.txt"))
        assertOpenFails(b, containing: ["notes.txt", "not listed"])
    }

    func testCaseFilesAreCheckedAgainstDigests() throws {
        let b = try makeBundle()
        // Rewrite the rgb360 (and its manifest entry, so checksums pass): the digests must catch it.
        let rgb = b.url.appendingPathComponent("selftest/c1.rgb360")
        var bytes = [UInt8](try Data(contentsOf: rgb))
        bytes[0] ^= 0xff
        try Data(bytes).write(to: rgb)
        var edited = b
        try edited.editManifest { m in m["files"] = try! TestBundle.listFiles(b.url) }
        let bundle = try NHBundle(url: b.url)
        XCTAssertThrowsError(try bundle.loadSelfTestCases()) { error in
            XCTAssertTrue("\(error)".contains("digests.resized"), "\(error)")
        }
    }

    func testUnsafePathsAreRejected() throws {
        for bad in ["../outside", "/etc/passwd", "a/./b", "a//b", "a\\b", ""] {
            var b = try makeBundle()
            try b.editManifest { m in
                var files = m["files"] as! [[String: Any]]
                files.append(["path": bad, "sha256": String(repeating: "0", count: 64), "size": 0])
                m["files"] = files
            }
            assertOpenFails(b, containing: ["unsafe file path"])
        }
    }

    func testSeedDigestMismatchIsRejected() throws {
        var b = try makeBundle()
        try b.editManifest { m in
            var seed = m["seed"] as! [String: Any]
            seed["sha256"] = String(repeating: "1", count: 64)
            m["seed"] = seed
        }
        assertOpenFails(b, containing: ["seed.sha256"])
    }

    func testOtherSpecIsRejected() throws {
        var b = try makeBundle()
        try b.editManifest { m in
            var spec = m["spec"] as! [String: Any]
            spec["size"] = 224
            m["spec"] = spec
        }
        assertOpenFails(b, containing: ["manifest.json", "size", "360"])
        try b.editManifest { m in
            var spec = m["spec"] as! [String: Any]
            spec["size"] = 360
            spec["colour"] = "srgb"
            m["spec"] = spec
        }
        assertOpenFails(b, containing: ["spec.colour", "unknown field"])
    }

    func testFormatVersionAndLayoutAreChecked() throws {
        var b = try makeBundle()
        try b.editManifest { m in m["format_version"] = 2 }
        assertOpenFails(b, containing: ["format_version", "is 2"])
        try b.editManifest { m in
            m["format_version"] = 1
            var model = m["model"] as! [String: Any]
            var inputs = model["inputs"] as! [[String: Any]]
            inputs[0]["layout"] = "NHWC"   // shape stays NCHW
            model["inputs"] = inputs
            m["model"] = model
        }
        assertOpenFails(b, containing: ["model.inputs[0].shape", "NHWC input shape"])
    }

    func testMalformedManifestNamesTheProblem() throws {
        let b = try makeBundle()
        try Data("{\"format\": \"nhkit-bundle\"}".utf8).write(to: b.url.appendingPathComponent("manifest.json"))
        assertOpenFails(b, containing: ["manifest.json", "format_version", "missing"])
        try Data("{\"format\": \"nhkit-bundle\", \"format_version\": 1}".utf8).write(to: b.url.appendingPathComponent("manifest.json"))
        assertOpenFails(b, containing: ["manifest.json", "bundle_id: missing (required field)"])
        try FileManager.default.removeItem(at: b.url.appendingPathComponent("manifest.json"))
        assertOpenFails(b, containing: ["manifest.json", "cannot read"])
    }

    func testCasesCountMustMatchManifest() throws {
        var b = try makeBundle()
        try b.editManifest { m in m["selftest"] = ["file": "selftest/cases.json", "cases": 3] }
        let bundle = try NHBundle(url: b.url)
        XCTAssertThrowsError(try bundle.loadSelfTestCases()) { error in
            XCTAssertTrue("\(error)".contains("manifest says 3"), "\(error)")
        }
    }
}

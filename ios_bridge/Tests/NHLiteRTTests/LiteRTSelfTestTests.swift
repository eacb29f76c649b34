import Foundation
import XCTest
@testable import NHCore
import NHTestSupport
@testable import NHLiteRT

/// The real LiteRT runtime (libLiteRt from ai-edge-litert 2.3.0) under NHCore's own pipeline:
/// the full self-test of exported TFLite bundles, decoded by the Linux PNG decoder, no replayed
/// embeddings. `ios_bridge/test.sh` exports the bundles (fp32, fp16, dynamic-int8, int8,
/// int8-io), passes them in `NHKIT_TEST_BUNDLES`, and judges the reports written to
/// `NHKIT_REPORT_OUT` with `nhkit golden check`.
///
/// Without the library the tests skip with the reason, unless `NHKIT_REQUIRE_LITERT=1`
/// (test.sh sets it when Python can import ai_edge_litert), which turns the skip into a failure.
final class LiteRTSelfTestTests: XCTestCase {
    static let env = ProcessInfo.processInfo.environment

    static func tfliteBundleDirs() -> [URL] {
        let dirs = (env["NHKIT_TEST_BUNDLES"] ?? "").split(separator: ":").map { URL(fileURLWithPath: String($0)) }
        return dirs.filter { dir in
            guard let data = try? Data(contentsOf: dir.appendingPathComponent("manifest.json")),
                  let m = try? JSONDecoder().decode(BundleManifest.self, from: data) else { return false }
            return m.target == "tflite"
        }
    }

    func library() throws -> LiteRTLibrary {
        do {
            return try LiteRTLibrary.open()
        } catch {
            if Self.env["NHKIT_REQUIRE_LITERT"] == "1" { throw error }
            throw XCTSkip("LiteRT is not available: \(error)")
        }
    }

    func bundles() throws -> [NHBundle] {
        let dirs = Self.tfliteBundleDirs()
        if dirs.isEmpty {
            if Self.env["NHKIT_REQUIRE_LITERT"] == "1" { XCTFail("NHKIT_REQUIRE_LITERT=1 but NHKIT_TEST_BUNDLES names no TFLite bundle") }
            throw XCTSkip("no TFLite bundle: run ios_bridge/test.sh, or set NHKIT_TEST_BUNDLES=/path/to/<bundle_id>")
        }
        return try dirs.map { try NHBundle(url: $0) }
    }

    static let platform = DeviceReport.Platform(os: "Linux", osVersion: ProcessInfo.processInfo.operatingSystemVersionString,
                                                deviceModel: "swift-test")

    func testFullSelfTestThroughLiteRT() throws {
        let lib = try library()
        XCTAssertEqual(lib.version, LiteRTLibrary.pinnedVersion)
        for bundle in try bundles() {
            let id = bundle.manifest.bundleID
            let cases = try bundle.loadSelfTestCases()
            let engine = try LiteRTEngine(bundle: bundle, library: lib)
            let report = try SelfTest.run(bundle: bundle, engine: engine, decoder: TestPNGDecoder(),
                                          bridge: .init(name: "nhkit-swift-linux", version: "0.1.0"), platform: Self.platform)
            XCTAssertEqual(report.runtime.name, "litert")
            XCTAssertEqual(report.runtime.version, lib.version)
            XCTAssertEqual(report.cases.map(\.id), cases.cases.map(\.id))
            let verdicts = SelfTest.evaluate(report, cases: cases, tolerance: bundle.manifest.tolerance)
            var pngCases = 0
            for (c, v) in zip(cases.cases, verdicts) {
                if c.source.lowercased().hasSuffix(".png") {
                    pngCases += 1
                    XCTAssertTrue(v.passed, "\(id)/\(c.id): \(v.problems)")
                } else {
                    // No JPEG decoder in NHCore on Linux: the case is reported as failed, never faked.
                    XCTAssertNotNil(report.cases.first { $0.id == c.id }?.error, "\(id)/\(c.id)")
                }
            }
            XCTAssertGreaterThan(pngCases, 0, id)
            let modes = verdicts.dropFirst(cases.cases.count)
            XCTAssertEqual(modes.count, cases.decodeCases?.count ?? -1, "\(id): exported bundles carry the mode sampler")
            for v in modes { XCTAssertTrue(v.passed, "\(id)/\(v.id): \(v.problems)") }
            if let out = Self.env["NHKIT_REPORT_OUT"] {
                try report.write(to: URL(fileURLWithPath: out).appendingPathComponent("\(id).litert-report.json"))
            }
        }
    }

    /// The model really runs: the fp32 variant's embeddings of the lossless cases are close to
    /// the reference (onnxruntime fp32) and were not copied from it.
    func testFloat32EmbeddingsAreComputedNotCopied() throws {
        let lib = try library()
        guard let bundle = try bundles().first(where: { $0.manifest.variant?.name == "fp32" }) else {
            throw XCTSkip("no fp32 TFLite bundle")
        }
        let engine = try LiteRTEngine(bundle: bundle, library: lib)
        for c in try bundle.loadSelfTestCases().cases {
            let rgb = try RGB8Image(width: 360, height: 360,
                                    pixels: [UInt8](Data(contentsOf: bundle.selfTestURL.appendingPathComponent(c.rgb360))))
            let got = try engine.embed(Normalise.nchw(rgb))
            let want = try FloatHex.float32s(c.expected.embedding)
            let maxErr = zip(got, want).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThan(maxErr, 1e-3, "\(c.id): max |delta| \(maxErr)")
        }
    }

    /// A copy of a bundle whose model has one corrupted weight (made by test.sh from the fp32
    /// bundle, manifest re-checksummed, reference results unchanged) must give different
    /// embeddings: a report is computed, not replayed. test.sh then requires `nhkit golden
    /// check` to fail on the report written here.
    func testCorruptedWeightChangesEmbeddings() throws {
        let lib = try library()
        guard let dir = Self.env["NHKIT_CORRUPT_BUNDLE"] else {
            if Self.env["NHKIT_REQUIRE_LITERT"] == "1" { XCTFail("NHKIT_CORRUPT_BUNDLE is not set") }
            throw XCTSkip("NHKIT_CORRUPT_BUNDLE is not set (ios_bridge/test.sh makes one)")
        }
        let corrupt = try NHBundle(url: URL(fileURLWithPath: dir))
        guard let original = try bundles().first(where: { $0.manifest.bundleID == corrupt.manifest.bundleID }) else {
            return XCTFail("no original bundle \(corrupt.manifest.bundleID) in NHKIT_TEST_BUNDLES")
        }
        XCTAssertNotEqual(corrupt.manifestSHA256, original.manifestSHA256)
        let a = try LiteRTEngine(bundle: original, library: lib)
        let b = try LiteRTEngine(bundle: corrupt, library: lib)
        for c in try original.loadSelfTestCases().cases {
            let rgb = try RGB8Image(width: 360, height: 360,
                                    pixels: [UInt8](Data(contentsOf: original.selfTestURL.appendingPathComponent(c.rgb360))))
            let t = Normalise.nchw(rgb)
            XCTAssertNotEqual(try a.embed(t), try b.embed(t), "\(c.id): a corrupted weight left the embedding unchanged")
        }
        let report = try SelfTest.run(bundle: corrupt, engine: b, decoder: TestPNGDecoder(),
                                      bridge: .init(name: "nhkit-swift-linux", version: "0.1.0"), platform: Self.platform)
        if let out = Self.env["NHKIT_REPORT_OUT"] {
            try report.write(to: URL(fileURLWithPath: out).appendingPathComponent("corrupted.litert-report.json"))
        }
    }

    func testSharedEngineIsSafeAcrossThreads() throws {
        let lib = try library()
        guard let bundle = try bundles().first else { return }
        let engine = try LiteRTEngine(bundle: bundle, library: lib)
        let cases = try bundle.loadSelfTestCases().cases
        let tensors = try cases.map { c in
            Normalise.nchw(try RGB8Image(width: 360, height: 360,
                                         pixels: [UInt8](Data(contentsOf: bundle.selfTestURL.appendingPathComponent(c.rgb360)))))
        }
        let expected = try tensors.map { try engine.embed($0) }
        let n = 4 * tensors.count
        let results = UnsafeMutableBufferPointer<[Float]>.allocate(capacity: n)
        results.initialize(repeating: [])
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: n) { i in
            results[i] = (try? engine.embed(tensors[i % tensors.count])) ?? []
        }
        for i in 0..<n { XCTAssertEqual(results[i], expected[i % tensors.count], "call \(i)") }
    }

    func testModelShapeAndDtypeAreCheckedAgainstTheManifest() throws {
        let lib = try library()
        guard let bundle = try bundles().first(where: { $0.manifest.input.dtype == "float32" }) else { return }
        var m = bundle.manifest
        m.model.inputs[0].shape = [1, 3, 360, 360]
        XCTAssertThrowsError(try LiteRTEngine(modelURL: bundle.modelURL, manifest: m, library: lib)) { e in
            XCTAssertTrue("\(e)".contains("model input has shape [1, 360, 360, 3]"), "\(e)")
        }
        m = bundle.manifest
        m.model.outputs[0].dtype = "int8"
        XCTAssertThrowsError(try LiteRTEngine(modelURL: bundle.modelURL, manifest: m, library: lib)) { e in
            XCTAssertTrue("\(e)".contains("model output has dtype float32"), "\(e)")
        }
    }

    /// tests/vectors/readers/index.json `model_cases`: a real bundle whose manifest (valid on its
    /// own) disagrees with its model is refused when LiteRT opens the model, naming the field.
    /// The Core ML cases need Core ML (NHKitTests, macOS); Python runs them all.
    func testReaderVectorModelCasesAreRefused() throws {
        let lib = try library()
        let dirs = Self.tfliteBundleDirs()
        let index = try XCTUnwrap(JSONSerialization.jsonObject(
            with: Data(contentsOf: vectorsURL.appendingPathComponent("readers/index.json"))) as? [String: Any])
        let cases = try XCTUnwrap(index["model_cases"] as? [[String: Any]])
        var ran = 0
        for (n, c) in cases.enumerated() {
            let name = try XCTUnwrap(c["bundle"] as? String)
            guard name.hasPrefix("tiny.tflite"), let src = dirs.first(where: { $0.lastPathComponent == name }) else { continue }
            let field = try XCTUnwrap(c["error"] as? String)
            let dst = FileManager.default.temporaryDirectory.appendingPathComponent("nhkit-model-case-\(ProcessInfo.processInfo.processIdentifier)-\(n)/\(name)")
            try? FileManager.default.removeItem(at: dst.deletingLastPathComponent())
            try FileManager.default.createDirectory(at: dst.deletingLastPathComponent(), withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dst.deletingLastPathComponent()) }
            try FileManager.default.copyItem(at: src, to: dst)
            var manifest: Any = try JSONSerialization.jsonObject(with: Data(contentsOf: dst.appendingPathComponent("manifest.json")))
            for edit in try XCTUnwrap(c["set"] as? [[String: Any]]) {
                manifest = Self.setting(manifest, path: try XCTUnwrap(edit["path"] as? [Any])[...], to: edit["value"]!)
            }
            try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]).write(to: dst.appendingPathComponent("manifest.json"))
            let bundle = try NHBundle(url: dst)  // valid on its own: only the model can tell
            XCTAssertThrowsError(try LiteRTEngine(bundle: bundle, library: lib), "\(name): \(c["comment"] ?? "")") { e in
                XCTAssertTrue("\(e)".contains(field), "\(name): the error does not name \(field): \(e)")
            }
            ran += 1
        }
        if Self.env["NHKIT_REQUIRE_LITERT"] == "1" {
            XCTAssertGreaterThanOrEqual(ran, 5, "TFLite model cases run (fixture bundles tiny.tflite-fp32 and tiny.tflite-int8-io)")
        } else if ran == 0 {
            throw XCTSkip("no tiny.tflite-fp32 / tiny.tflite-int8-io fixture bundle in NHKIT_TEST_BUNDLES")
        }
    }

    /// `root` with the value at `path` (object keys and array indices) replaced by `value`.
    static func setting(_ root: Any, path: ArraySlice<Any>, to value: Any) -> Any {
        guard let key = path.first else { return value }
        if var o = root as? [String: Any], let k = key as? String {
            o[k] = setting(o[k] ?? NSNull(), path: path.dropFirst(), to: value)
            return o
        }
        if var a = root as? [Any], let i = key as? Int, a.indices.contains(i) {
            a[i] = setting(a[i], path: path.dropFirst(), to: value)
            return a
        }
        return root
    }

    func testInt8IOQuantizationMatchesTheManifest() throws {
        let lib = try library()
        guard let bundle = try bundles().first(where: { $0.manifest.input.dtype == "int8" }) else {
            throw XCTSkip("no int8-io TFLite bundle")
        }
        let engine = try LiteRTEngine(bundle: bundle, library: lib)
        XCTAssertTrue(engine.manifest.input.quantization != nil)
        var m = bundle.manifest
        m.model.inputs[0].quantization?.zeroPoint += 1
        XCTAssertThrowsError(try LiteRTEngine(modelURL: bundle.modelURL, manifest: m, library: lib)) { e in
            XCTAssertTrue("\(e)".contains("zero point"), "\(e)")
        }
    }
}

/// tests/vectors, found from this file: ios_bridge/Tests/NHLiteRTTests/LiteRTSelfTestTests.swift.
let vectorsURL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("tests/vectors")

/// Locating and version-checking the library needs no model.
final class LiteRTLibraryTests: XCTestCase {
    func testMissingLibraryIsAClearError() {
        XCTAssertThrowsError(try LiteRTLibrary.locate(environment: ["NHKIT_LITERT_LIB": "/nonexistent/libLiteRt.so"])) { e in
            XCTAssertEqual("\(e)", "inference engine: /nonexistent/libLiteRt.so: LiteRT library not found (from NHKIT_LITERT_LIB)")
        }
        XCTAssertThrowsError(try LiteRTLibrary.locate(environment: ["NHKIT_PYTHON": "/nonexistent/python", "PATH": "/usr/bin:/bin"])) { e in
            XCTAssertTrue("\(e)".contains("LiteRT library not found"), "\(e)")
            XCTAssertTrue("\(e)".contains("pip install ai-edge-litert==2.3.0"), "\(e)")
        }
    }

    func testOtherVersionsAreRefused() throws {
        let f = URL(fileURLWithPath: "/x/libLiteRt.so")
        XCTAssertNoThrow(try LiteRTLibrary.checkPinned("2.3.0", file: f))
        XCTAssertNoThrow(try LiteRTLibrary.checkPinned("2.3.1", file: f))
        XCTAssertThrowsError(try LiteRTLibrary.checkPinned("2.4.0", file: f)) { e in
            XCTAssertTrue("\(e)".contains("pinned to 2.3.0"), "\(e)")
        }
        XCTAssertThrowsError(try LiteRTLibrary.checkPinned("1.4.0", file: f))
    }

    func testVersionFromPackageSource() {
        XCTAssertEqual(LiteRTLibrary.assignment(of: "__version__", in: "import x\n__version__ = \"2.3.0\"\n"), "2.3.0")
        XCTAssertNil(LiteRTLibrary.assignment(of: "__version__", in: "version = '1'"))
    }

    func testInt8QuantizerUsesTheTable() {
        // A table that differs from plain rounding must win for every spec tensor value.
        let lut = (0..<256).map { ($0 * 7) % 256 - 128 }
        let spec = BundleManifest.TensorSpec(name: "image", shape: [1, 360, 360, 3], dtype: "int8", layout: .nhwc,
                                             quantization: .init(scale: 2.0 / 255.0, zeroPoint: -1, lut: lut))
        let q = Int8InputQuantizer(spec: spec)
        for v in 0..<256 { XCTAssertEqual(Int(q.value(Normalise.table[v])), lut[v], "byte \(v)") }
        // Off-table values: round half away from zero of one binary32 division.
        XCTAssertEqual(Int8InputQuantizer.quantize(0.5, scale: 0.25, zeroPoint: 0), 2)
        XCTAssertEqual(Int8InputQuantizer.quantize(-0.375, scale: 0.25, zeroPoint: 0), -2)
        XCTAssertEqual(Int8InputQuantizer.quantize(100, scale: 0.25, zeroPoint: 0), 127)
    }
}

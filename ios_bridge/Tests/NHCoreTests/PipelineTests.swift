import Foundation
import XCTest
@testable import NHCore
import NHTestSupport

final class PipelineTests: XCTestCase {
    private func image(_ w: Int, _ h: Int, seed: UInt64) throws -> RGB8Image {
        try RGB8Image(width: w, height: h, pixels: splitmixBytes(seed: seed, count: w * h * 3))
    }

    func testSelfTestRunOnSyntheticBundle() throws {
        let root = try makeTempDir(self)
        let a = try image(64, 48, seed: 11), b = try image(30, 50, seed: 12)
        let tb = try TestBundle.make(in: root, sources: [.init(id: "a", image: a, orientation: nil),
                                                        .init(id: "b-exif6", image: b, orientation: 6)])
        let bundle = try NHBundle(url: tb.url)
        let report = try SelfTest.run(bundle: bundle, engine: ChecksumEngine(), decoder: TestPNGDecoder(),
                                      bridge: .init(name: "nhkit-ios", version: "test"),
                                      platform: .init(os: "Linux", osVersion: "x", deviceModel: "ci"))
        XCTAssertEqual(report.cases.map(\.id), ["a", "b-exif6"])
        XCTAssertEqual(report.bundle, DeviceReport.BundleInfo(bundleID: "test.coreml-fp32", manifestSHA256: bundle.manifestSHA256,
                                                             checksumsVerified: true, target: "coreml",
                                                             sourceModelFingerprint: String(repeating: "cd", count: 32)))
        XCTAssertEqual(report.runtime.name, "test-checksum")
        XCTAssertEqual(report.spec.fragileMargin, 0.25)
        let cases = try bundle.loadSelfTestCases()
        let verdicts = SelfTest.evaluate(report, cases: cases, tolerance: bundle.manifest.tolerance)
        XCTAssertEqual(verdicts.filter { !$0.passed }.map(\.problems), [])
        // The EXIF tag came from the PNG's eXIf chunk and was applied: 30x50 -> 50x30.
        let r = report.cases[1]
        XCTAssertEqual(r.orientation, 6)
        XCTAssertEqual(r.digests?.decoded, ExifOrientation.right.apply(to: b).sha256)
        XCTAssertEqual(ExifOrientation.right.apply(to: b).width, 50)
        XCTAssertNil(r.error)
        // The rgb360 file is the resize of the oriented image, and its bytes give the tensor digest.
        let rgb360 = try Data(contentsOf: bundle.selfTestURL.appendingPathComponent("b-exif6.rgb360"))
        XCTAssertEqual(SHA256Digest.hex(rgb360), r.digests?.resized)
        XCTAssertEqual(Normalise.digest(Normalise.nchw(try RGB8Image(width: 360, height: 360, pixels: [UInt8](rgb360)))), r.digests?.tensor)
    }

    /// Lossy cases carry decode_deviation (zero here: the test decoder reads the PNG exactly);
    /// lossless ones do not; the numbers follow docs/device-report.md.
    func testLossyCasesMeasureDecodeDeviation() throws {
        let root = try makeTempDir(self)
        let a = try image(64, 48, seed: 31), b = try image(40, 30, seed: 32)
        let tb = try TestBundle.make(in: root, sources: [.init(id: "a", image: a, orientation: nil),
                                                        .init(id: "b-lossy", image: b, orientation: 6, lossless: false)])
        let report = try SelfTest.run(bundle: try NHBundle(url: tb.url), engine: ChecksumEngine(), decoder: TestPNGDecoder(),
                                      bridge: .init(name: "nhkit-ios", version: "test"),
                                      platform: .init(os: "Linux", osVersion: "x", deviceModel: "ci"))
        XCTAssertNil(report.cases[0].decodeDeviation)
        XCTAssertEqual(report.cases[1].decodeDeviation, DecodeDeviation(samplesDiffering: 0, maxAbsDelta: 0, bitsFlipped: 0))
        let json = String(decoding: try report.jsonData(), as: UTF8.self)
        XCTAssertTrue(json.contains("\"decode_deviation\""), json)

        var dev = [UInt8](repeating: 0, count: 360 * 360 * 3)
        for i in 0..<3888 { dev[i] = 2 }
        dev[10] = 9
        let h = "0123456789abcdef01234567", flipped = "0123456789abcdef01234562"
        let m = try DecodeDeviation.measure(device: dev, reference: [UInt8](repeating: 0, count: dev.count),
                                            deviceHash: flipped, expectedHash: h)
        XCTAssertEqual(m, DecodeDeviation(samplesDiffering: 0.01, maxAbsDelta: 9, bitsFlipped: 2))
        XCTAssertThrowsError(try DecodeDeviation.measure(device: [1], reference: [1, 2], deviceHash: h, expectedHash: h))
    }

    func testFailingCaseIsReportedAndOthersRun() throws {
        let root = try makeTempDir(self)
        let tb = try TestBundle.make(in: root, sources: [.init(id: "good", image: try image(20, 20, seed: 1), orientation: nil),
                                                        .init(id: "broken", image: try image(20, 20, seed: 2), orientation: nil)])
        let png = tb.url.appendingPathComponent("selftest/broken.png")
        try Data(try Data(contentsOf: png).prefix(40)).write(to: png)
        XCTAssertThrowsError(try NHBundle(url: tb.url), "checksums catch the damage first")
        let bundle = try NHBundle(url: tb.url, verifyChecksums: false)
        let report = try SelfTest.run(bundle: bundle, engine: ChecksumEngine(), decoder: TestPNGDecoder(),
                                      bridge: .init(name: "t", version: "1"), platform: .init(os: "Linux", osVersion: "x", deviceModel: "ci"))
        XCTAssertEqual(report.cases.map(\.id), ["good", "broken"])
        XCTAssertNil(report.cases[0].error)
        let err = try XCTUnwrap(report.cases[1].error)
        XCTAssertTrue(err.contains("broken.png"), err)
        XCTAssertNil(report.cases[1].hash)
        XCTAssertFalse(report.bundle.checksumsVerified)
        let v = SelfTest.evaluate(report, cases: try bundle.loadSelfTestCases(), tolerance: bundle.manifest.tolerance)
        XCTAssertEqual(v.map(\.passed), [true, false])
    }

    func testOrientationIgnoreSkipsTheTag() throws {
        let img = try image(30, 20, seed: 5)
        let seed = try TestBundle.randomSeed(3)
        let apply = try HashPipeline(spec: NHSpec(orientation: .apply), seed: seed, engine: ChecksumEngine())
        let ignore = try HashPipeline(spec: NHSpec(orientation: .ignore), seed: seed, engine: ChecksumEngine())
        let rotated = try apply.hash(image: img, orientation: 8, computeDigests: true)
        let ignored = try ignore.hash(image: img, orientation: 8, computeDigests: true)
        let plain = try apply.hash(image: img, orientation: nil, computeDigests: true)
        XCTAssertEqual(ignored, plainWithoutTimings(plain, like: ignored))
        XCTAssertEqual(rotated.digests?.decoded, ExifOrientation.left.apply(to: img).sha256)
        XCTAssertNotEqual(rotated.digests?.decoded, plain.digests?.decoded)
    }

    /// `plain` with `other`'s timings (timings differ run to run).
    private func plainWithoutTimings(_ plain: HashResult, like other: HashResult) -> HashResult {
        var p = plain
        p.timings = other.timings
        return p
    }

    func testPipelineMatchesStepByStep() throws {
        let img = try image(97, 61, seed: 8)
        let seed = try TestBundle.randomSeed(4)
        let engine = ChecksumEngine()
        let p = try HashPipeline(spec: NHSpec(fragileMargin: 0.5), seed: seed, engine: engine)
        let r = try p.hash(image: img, orientation: 3, computeDigests: true)
        let oriented = ExifOrientation.down.apply(to: img)
        let resized = BicubicResize.resize(oriented)
        let tensor = Normalise.nchw(resized)
        let e = try engine.embed(tensor)
        let proj = try Projection.project(seed: seed, embedding: e)
        XCTAssertEqual(r.embedding, e)
        XCTAssertEqual(r.projections, proj)
        XCTAssertEqual(r.hash, try Projection.hash(projections: proj))
        XCTAssertEqual(r.fragile, try Projection.fragileMask(projections: proj, margin: 0.5))
        XCTAssertEqual(r.digests, StageDigests(decoded: oriented.sha256, resized: resized.sha256, tensor: Normalise.digest(tensor)))
        XCTAssertEqual(p.preprocess(img, orientation: 3).tensor, tensor)
    }

    struct BadEngine: EmbeddingEngine {
        var runtimeInfo: DeviceReport.Runtime { .init(name: "bad", version: "1", computeUnit: "cpu") }
        let output: [Float]
        func embed(_ tensor: [Float]) throws -> [Float] { output }
    }

    func testEngineOutputIsChecked() throws {
        let seed = try TestBundle.randomSeed(5)
        let img = try image(8, 8, seed: 1)
        let short = try HashPipeline(spec: NHSpec(), seed: seed, engine: BadEngine(output: [1, 2, 3]))
        XCTAssertThrowsError(try short.hash(image: img)) { XCTAssertTrue("\($0)".contains("returned 3 values"), "\($0)") }
        var nan = [Float](repeating: 0.1, count: 128)
        nan[7] = .nan
        let bad = try HashPipeline(spec: NHSpec(), seed: seed, engine: BadEngine(output: nan))
        XCTAssertThrowsError(try bad.hash(image: img)) { XCTAssertTrue("\($0)".contains("not finite"), "\($0)") }
    }

    /// A 2 x 16,000 strip: both coefficient strategies agree, and the streamed vertical pass
    /// never stores the 16,000 x 360 intermediate.
    func testExtremeAspectRatioResizesWithBoundedTables() throws {
        let tall = try image(2, 16_000, seed: 21)
        let streamed = BicubicResize.resize(tall)
        XCTAssertEqual(streamed.width, 360)
        XCTAssertEqual(streamed.height, 360)
        XCTAssertEqual(BicubicResize.resize(tall, width: 360, height: 360, tableLimit: 0), streamed)
        XCTAssertEqual(BicubicResize.resize(tall, width: 360, height: 360, tableLimit: .max), streamed)
        let wide = try image(16_000, 2, seed: 22)
        XCTAssertEqual(BicubicResize.resize(wide, width: 360, height: 360, tableLimit: 0), BicubicResize.resize(wide))
    }

    /// Very tall images (1 x 2,000,000 is legal under the 100 MP limit; the Java bridge once threw
    /// on it: its 2,000,000 x 360 intermediate did not fit one array). This resize never builds
    /// the intermediate (rows are streamed into the vertical accumulators) and indexes with
    /// 64-bit Int. 2,000,000 rows took 349 s in a debug build here, so the test uses 100,000
    /// (a 108 MB intermediate the streaming avoids; the Java and Python tests run 2,000,000).
    /// Width 1 -> 360 copies the sample (one tap of weight 2^22), so the spec's output is the
    /// vertical resize of the column, computed here from the coefficient table (checked by the
    /// vectors).
    func testVeryTallImageResize() throws {
        let h = 100_000
        let tall = try image(1, h, seed: 23)
        let out = BicubicResize.resize(tall)
        XCTAssertEqual(out.width, 360)
        XCTAssertEqual(out.height, 360)
        let c = BicubicResize.coefficients(inSize: h, outSize: 360)
        for y in 0..<360 {
            for ch in 0..<3 {
                var acc: Int64 = 1 << 21
                for (i, k) in c.taps(y).enumerated() {
                    acc += Int64(tall.pixels[(c.xmin[y] + i) * 3 + ch]) * Int64(k)
                }
                let want = UInt8(max(0, min(255, acc >> 22)))
                XCTAssertEqual(out.pixels[(y * 360) * 3 + ch], want, "y=\(y) ch=\(ch)")
                XCTAssertEqual(out.pixels[(y * 360 + 359) * 3 + ch], want, "y=\(y) ch=\(ch)")
            }
        }
    }

    func testDecoderPixelLimit() throws {
        let png = TestPNGWriter.png(try image(100, 100, seed: 1))
        XCTAssertThrowsError(try TestPNGDecoder.decode(png, maxPixels: 9_999)) { XCTAssertTrue("\($0)".contains("exceeds"), "\($0)") }
        XCTAssertEqual(try TestPNGDecoder.decode(png, maxPixels: 10_000).image, try image(100, 100, seed: 1))
    }
}

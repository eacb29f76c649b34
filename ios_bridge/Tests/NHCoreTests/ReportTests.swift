import Foundation
import XCTest
@testable import NHCore

final class ReportTests: XCTestCase {
    private func sampleReport() -> DeviceReport {
        DeviceReport(
            bridge: .init(name: "nhkit-ios", version: "0.1.0"),
            platform: .init(os: "iOS", osVersion: "17.4", deviceModel: "iPhone15,2"),
            runtime: .init(name: "coreml", version: "7", computeUnit: "cpuOnly", threads: 0),
            bundle: .init(bundleID: "b", manifestSHA256: String(repeating: "a", count: 64), checksumsVerified: true, target: "coreml"),
            spec: NHSpec(orientation: .apply, fragileMargin: 0.1),
            created: Date(timeIntervalSince1970: 1_795_000_000),
            cases: [
                .init(id: "ok", digests: .init(decoded: String(repeating: "1", count: 64), resized: String(repeating: "2", count: 64),
                                               tensor: String(repeating: "3", count: 64)),
                      embedding: FloatHex.encode([Float](repeating: 1, count: 128)),
                      projections: FloatHex.encode([Double](repeating: -2.5, count: 96)),
                      hash: "000000000000000000000000", orientation: 6,
                      timingsMs: .init(decode: 3.25, resize: 1.5, normalise: 0.5, model: 12, project: 0.01)),
                .init(id: "bad", error: "s02.png: truncated image data"),
            ])
    }

    func testRoundTrip() throws {
        let r = sampleReport()
        let dir = try makeTempDir(self)
        let url = dir.appendingPathComponent("report.json")
        try r.write(to: url)
        XCTAssertEqual(try DeviceReport.load(from: url), r)
    }

    func testJSONShape() throws {
        let data = try sampleReport().jsonData()
        XCTAssertEqual(data.last, 0x0a, "trailing newline")
        let obj = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        XCTAssertEqual(Set(obj.keys), ["format", "format_version", "bridge", "platform", "runtime", "bundle", "spec", "created", "cases"])
        XCTAssertEqual(obj["format"] as? String, "nhkit-device-report")
        XCTAssertEqual(obj["format_version"] as? Int, 1)
        XCTAssertEqual(obj["created"] as? String, "2026-11-18T11:06:40Z")
        let spec = obj["spec"] as! [String: Any]
        XCTAssertEqual(Set(spec.keys), ["id", "orientation", "resize", "size", "normalise", "hash_bits", "embedding_dim", "fragile_margin"])
        XCTAssertEqual(spec["fragile_margin"] as? Double, 0.1)
        let runtime = obj["runtime"] as! [String: Any]
        XCTAssertEqual(runtime["compute_unit"] as? String, "cpuOnly")
        XCTAssertEqual(runtime["threads"] as? Int, 0)
        let bundle = obj["bundle"] as! [String: Any]
        XCTAssertEqual(bundle["checksums_verified"] as? Bool, true)
        XCTAssertNil(bundle["source_model_fingerprint"], "optional fields are omitted, not null")
        let cases = obj["cases"] as! [[String: Any]]
        XCTAssertEqual(cases.count, 2)
        XCTAssertTrue(cases[0]["error"] is NSNull, "a successful case writes \"error\": null")
        XCTAssertEqual((cases[0]["timings_ms"] as! [String: Any])["decode"] as? Double, 3.25)
        XCTAssertEqual(cases[0]["orientation"] as? Int, 6)
        XCTAssertEqual((cases[0]["embedding"] as! [String]).count, 128)
        XCTAssertEqual((cases[0]["projections"] as! [String]).first, "c004000000000000")
        XCTAssertEqual(Set(cases[1].keys), ["id", "error"], "a failed case carries only id and error")
        XCTAssertFalse(String(decoding: data, as: UTF8.self).contains("\\/"), "slashes are not escaped")
    }

    func testSpecRejectsOtherFixedValues() {
        let bad = #"{"id": "nh-spec-v1", "orientation": "apply", "resize": "bilinear"}"#
        XCTAssertThrowsError(try JSONDecoder().decode(NHSpec.self, from: Data(bad.utf8))) { error in
            XCTAssertTrue("\(error)".contains("resize"), "\(error)")
        }
        let other = #"{"id": "nh-spec-v2"}"#
        XCTAssertThrowsError(try JSONDecoder().decode(NHSpec.self, from: Data(other.utf8)))
        let defaults = #"{"id": "nh-spec-v1"}"#
        XCTAssertEqual(try JSONDecoder().decode(NHSpec.self, from: Data(defaults.utf8)), NHSpec())
        let negative = #"{"id": "nh-spec-v1", "fragile_margin": -0.5}"#
        XCTAssertThrowsError(try JSONDecoder().decode(NHSpec.self, from: Data(negative.utf8)))
    }

    func testEvaluateFlagsDigestAndHashProblems() throws {
        let r = sampleReport()
        func c(_ id: String, lossless: Bool, hash: String, tensor: String) -> SelfTestCases.Case {
            .init(id: id, source: "\(id).png", lossless: lossless, description: nil, orientation: 1, rgb360: "\(id).rgb360",
                  digests: .init(decoded: String(repeating: "1", count: 64), resized: String(repeating: "2", count: 64), tensor: tensor),
                  expected: .init(hash: hash, embedding: [], projections: [], fragile: "000000000000000000000000"))
        }
        let good = SelfTestCases(format: "nhkit-selftest", formatVersion: 1, bundleID: "b",
                                 cases: [c("ok", lossless: true, hash: "000000000000000000000003", tensor: String(repeating: "3", count: 64)),
                                         c("bad", lossless: true, hash: "000000000000000000000000", tensor: "x")])
        let v = SelfTest.evaluate(r, cases: good, tolerance: .init(hamming: 2, lossyHamming: 6))
        XCTAssertEqual(v[0].passed, true, "\(v[0].problems)")
        XCTAssertEqual(v[0].hamming, 2)
        XCTAssertEqual(v[1].passed, false)
        XCTAssertTrue(v[1].problems.contains { $0.contains("truncated") })
        let strict = SelfTest.evaluate(r, cases: good, tolerance: .init(hamming: 1, lossyHamming: 6))
        XCTAssertEqual(strict[0].passed, false)
        let tensorOff = SelfTestCases(format: "nhkit-selftest", formatVersion: 1, bundleID: "b",
                                      cases: [c("ok", lossless: true, hash: "000000000000000000000000", tensor: String(repeating: "4", count: 64)),
                                              c("missing", lossless: false, hash: "000000000000000000000000", tensor: "")])
        let v2 = SelfTest.evaluate(r, cases: tensorOff, tolerance: nil)
        XCTAssertEqual(v2[0].problems, ["tensor digest differs"])
        XCTAssertEqual(v2[1].problems, ["case missing from the report"])
    }
}

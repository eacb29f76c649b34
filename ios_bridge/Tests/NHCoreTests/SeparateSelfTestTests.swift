import Foundation
import XCTest
@testable import NHCore

/// A bundle whose self-test ships separately (`nhkit export --selftest separate`,
/// docs/bundle-format.md "Self-test placement"): it opens without its cases, verifies them when
/// they are unzipped into it, and rejects anything unlisted.
final class SeparateSelfTestTests: XCTestCase {
    /// The test bundle rewritten as the exporter writes a separate self-test: selftest/ entries
    /// move from `files` to `selftest.files`, and `selftest.archive` pins the second artefact.
    private func makeSeparate() throws -> URL {
        let root = try makeTempDir(self)
        let img = try RGB8Image(width: 40, height: 30, pixels: splitmixBytes(seed: 3, count: 40 * 30 * 3))
        let b = try TestBundle.make(in: root, sources: [.init(id: "c1", image: img, orientation: nil)])
        let murl = b.url.appendingPathComponent("manifest.json")
        var m = try JSONSerialization.jsonObject(with: Data(contentsOf: murl)) as! [String: Any]
        let files = m["files"] as! [[String: Any]]
        let inSelftest = { (f: [String: Any]) in (f["path"] as! String).hasPrefix("selftest/") }
        var st = m["selftest"] as! [String: Any]
        st["archive"] = ["file": "test.coreml-fp32.selftest.zip", "sha256": String(repeating: "0", count: 64), "size": 1]
        st["files"] = files.filter(inSelftest)
        m["selftest"] = st
        m["files"] = files.filter { !inSelftest($0) }
        try JSONSerialization.data(withJSONObject: m, options: [.sortedKeys]).write(to: murl)
        return b.url
    }

    func testUnpackedSeparateSelfTestIsVerifiedAndRuns() throws {
        let url = try makeSeparate()
        let bundle = try NHBundle(url: url)
        XCTAssertTrue(bundle.hasSelfTest)
        XCTAssertEqual(try bundle.loadSelfTestCases().cases.map(\.id), ["c1"])
    }

    func testBundleWithoutItsSeparateSelfTestOpensWithNoCases() throws {
        let url = try makeSeparate()
        try FileManager.default.removeItem(at: url.appendingPathComponent("selftest"))
        let bundle = try NHBundle(url: url)
        XCTAssertFalse(bundle.hasSelfTest)
        XCTAssertThrowsError(try bundle.loadSelfTestCases()) { error in
            XCTAssertTrue("\(error)".contains("ships separately as test.coreml-fp32.selftest.zip"), "\(error)")
        }
    }

    func testTamperedSeparateSelfTestFileIsRejected() throws {
        let url = try makeSeparate()
        let rgb = url.appendingPathComponent("selftest/c1.rgb360")
        var bytes = [UInt8](try Data(contentsOf: rgb))
        bytes[7] ^= 1
        try Data(bytes).write(to: rgb)
        XCTAssertThrowsError(try NHBundle(url: url)) { error in
            XCTAssertTrue("\(error)".contains("c1.rgb360"), "\(error)")
        }
    }

    func testUnlistedFileInSeparateSelfTestIsRejected() throws {
        let url = try makeSeparate()
        try Data([1, 2, 3]).write(to: url.appendingPathComponent("selftest/extra.png"))
        XCTAssertThrowsError(try NHBundle(url: url)) { error in
            XCTAssertTrue("\(error)".contains("not listed"), "\(error)")
        }
    }

    func testSelfTestFilesMustStayUnderSelftest() throws {
        let url = try makeSeparate()
        let murl = url.appendingPathComponent("manifest.json")
        var m = try JSONSerialization.jsonObject(with: Data(contentsOf: murl)) as! [String: Any]
        var st = m["selftest"] as! [String: Any]
        var stFiles = st["files"] as! [[String: Any]]
        stFiles[0]["path"] = "seed.f32"
        st["files"] = stFiles
        m["selftest"] = st
        try JSONSerialization.data(withJSONObject: m, options: [.sortedKeys]).write(to: murl)
        XCTAssertThrowsError(try NHBundle(url: url)) { error in
            XCTAssertTrue("\(error)".contains("selftest.files"), "\(error)")
        }
    }
}

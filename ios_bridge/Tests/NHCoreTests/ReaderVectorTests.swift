import Foundation
import XCTest
@testable import NHCore

/// tests/vectors/readers/index.json: the verdict every reader must reach on each file, with the
/// field an error must name. NHCore reads device reports (`DeviceReport.load`), bundle manifests
/// (`BundleManifest.parse`) and self-test cases (`SelfTestCases.parse`); it has no golden-set
/// reader (goldens are checked by `nhkit golden check`), so the golden cases are not run here.
/// The index's `model_cases` need a real model: NHLiteRTTests runs them through the LiteRT engine.
final class ReaderVectorTests: XCTestCase {
    private func runCases(reader: String, read: (URL) throws -> Void) throws -> Int {
        let dir = vectorsDir.appendingPathComponent("readers")
        let index = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("index.json"))) as? [String: Any])
        XCTAssertEqual(index["schema"] as? String, "nhkit-reader-vectors-v1")
        let cases = try XCTUnwrap(index["cases"] as? [[String: Any]])
        var ran = 0
        for c in cases where c["reader"] as? String == reader {
            let file = try XCTUnwrap(c["file"] as? String)
            let url = dir.appendingPathComponent(file)
            ran += 1
            if c["result"] as? String == "valid" {
                XCTAssertNoThrow(try read(url), file)
                continue
            }
            let field = try XCTUnwrap(c["error"] as? String, "\(file): an invalid case names its error")
            do {
                try read(url)
                XCTFail("\(file): accepted (expected an error naming \(field))")
            } catch {
                let message = String(describing: error)
                XCTAssertTrue(message.contains(field), "\(file): the error does not name \(field): \(message)")
                XCTAssertTrue(message.contains(file), "\(file): the error does not name the file: \(message)")
            }
        }
        return ran
    }

    func testDeviceReportReaderVerdicts() throws {
        let ran = try runCases(reader: "report") { _ = try DeviceReport.load(from: $0) }
        XCTAssertGreaterThanOrEqual(ran, 7, "report cases in index.json")
    }

    func testBundleManifestReaderVerdicts() throws {
        let ran = try runCases(reader: "manifest") { _ = try BundleManifest.parse(Data(contentsOf: $0), source: $0.path) }
        XCTAssertGreaterThanOrEqual(ran, 17, "manifest cases in index.json")
    }

    func testSelfTestCasesReaderVerdicts() throws {
        let ran = try runCases(reader: "cases") { _ = try SelfTestCases.load(from: $0) }
        XCTAssertGreaterThanOrEqual(ran, 12, "cases cases in index.json")
    }
}

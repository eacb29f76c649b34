import Foundation
import XCTest
@testable import NHCore

/// tests/vectors/readers/index.json: the verdict every reader must reach on each file. NHCore's
/// reader of device reports is `DeviceReport.load`; it has no golden-set reader (goldens are
/// checked by `nhkit golden check`), so the golden cases are not run here.
final class ReaderVectorTests: XCTestCase {
    func testDeviceReportReaderVerdicts() throws {
        let dir = vectorsDir.appendingPathComponent("readers")
        let index = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("index.json"))) as? [String: Any])
        XCTAssertEqual(index["schema"] as? String, "nhkit-reader-vectors-v1")
        let cases = try XCTUnwrap(index["cases"] as? [[String: Any]])
        var ran = 0
        for c in cases where c["reader"] as? String == "report" {
            let file = try XCTUnwrap(c["file"] as? String)
            let url = dir.appendingPathComponent(file)
            ran += 1
            if c["result"] as? String == "valid" {
                XCTAssertNoThrow(try DeviceReport.load(from: url), file)
                continue
            }
            let field = try XCTUnwrap(c["error"] as? String, "\(file): an invalid case names its error")
            do {
                _ = try DeviceReport.load(from: url)
                XCTFail("\(file): accepted (expected an error naming \(field))")
            } catch {
                let message = String(describing: error)
                XCTAssertTrue(message.contains(field), "\(file): the error does not name \(field): \(message)")
                XCTAssertTrue(message.contains(file), "\(file): the error does not name the file: \(message)")
            }
        }
        XCTAssertGreaterThanOrEqual(ran, 7, "report cases in index.json")
    }
}

import Foundation
import XCTest
@testable import NHCore
import NHTestSupport

/// Spec step 2's orientation sources on the shared fixtures (tests/decode_fixtures/expected.json,
/// the files Python and Java are checked on too).
final class OrientationSourceTests: XCTestCase {
    let dir = repoRoot.appendingPathComponent("tests/decode_fixtures")

    func fixtures() throws -> [[String: Any]] {
        let url = dir.appendingPathComponent("expected.json")
        let obj = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
        let list = obj?["fixtures"] as? [[String: Any]] ?? []
        XCTAssertGreaterThanOrEqual(list.count, 20, "\(url.path) lists too few fixtures")
        return list
    }

    func testEveryFixtureGivesTheSpecTag() throws {
        for fx in try fixtures() {
            let name = fx["file"] as! String, want = fx["orientation"] as! Int
            let bytes = [UInt8](try Data(contentsOf: dir.appendingPathComponent(name)))
            XCTAssertTrue(OrientationSource.covers(bytes), name)
            XCTAssertEqual(ExifOrientation(tag: OrientationSource.tag(in: bytes)).rawValue, want,
                           "\(name): \(fx["why"] ?? "")")
        }
    }

    /// PNG fixtures end to end: decoded pixels, oriented, against the Python digest.
    func testPNGFixturesDecodeAndOrientLikePython() throws {
        var checked = 0
        for fx in try fixtures() {
            guard let digest = fx["decoded"] as? String else { continue }
            let name = fx["file"] as! String
            let decoded = try TestPNGDecoder().decode(contentsOf: dir.appendingPathComponent(name),
                                                      maxPixels: DecodeLimits.defaultMaxPixels)
            let upright = ExifOrientation(tag: decoded.orientation).apply(to: decoded.image)
            XCTAssertEqual(upright.sha256, digest, name)
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 10)
    }

    func testOtherFormatsAndGarbage() {
        XCTAssertFalse(OrientationSource.covers(Array("GIF89a".utf8)))
        XCTAssertNil(OrientationSource.tag(in: Array("GIF89a".utf8)))
        for junk: [UInt8] in [[0xFF, 0xD8], [0xFF, 0xD8, 0xFF, 0xE1, 0x00],
                              [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0xFF] + Array("eXIf".utf8),
                              [0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x10] + Array("Exif\0\0MM\0*\0\0".utf8)] {
            XCTAssertNil(OrientationSource.tag(in: junk))
        }
        XCTAssertNil(OrientationSource.rawProfileBytes(Array("\nexif\n 2\na b\n".utf8)))
        XCTAssertEqual(OrientationSource.rawProfileBytes(Array("\nexif\n 2\nab cd\n".utf8)), [0xAB, 0xCD])
    }
}

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

    /// nh-spec-v1 section 2: a compressed text inflating past 1 MiB is ignored, the earlier XMP
    /// stands (a decompression bomb; the same files as Python's and Java's tests).
    func testPNGTextDecompressionBombIsIgnored() {
        func xmp(_ v: Int, pad: Int = 0) -> [UInt8] {
            Array(("<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF><rdf:Description "
                   + "xmlns:tiff=\"http://ns.adobe.com/tiff/1.0/\" tiff:Orientation=\"\(v)\"/></rdf:RDF>"
                   + "</x:xmpmeta>").utf8) + [UInt8](repeating: 0x20, count: pad)
        }
        /// zlib with stored blocks (NHCore has no deflater): the bomb is large but quick to build.
        func stored(_ raw: [UInt8]) -> [UInt8] {
            var z: [UInt8] = [0x78, 0x01], i = 0
            repeat {
                let n = min(65535, raw.count - i)
                z.append(i + n == raw.count ? 1 : 0)
                z += [UInt8(n & 0xff), UInt8(n >> 8), UInt8(~n & 0xff), UInt8((~n >> 8) & 0xff)]
                z += raw[i..<(i + n)]
                i += n
            } while i < raw.count
            return z + TestPNGWriter.be32(Inflate.adler32(raw))
        }
        func png(_ texts: [UInt8]...) -> [UInt8] {
            var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            for t in texts { out += TestPNGWriter.chunk("zTXt", Array("XML:com.adobe.xmp".utf8) + [0, 0] + stored(t)) }
            return out + TestPNGWriter.chunk("IEND", [])
        }
        XCTAssertEqual(OrientationSource.tag(in: png(xmp(3), xmp(6))), 6)
        XCTAssertEqual(OrientationSource.tag(in: png(xmp(3), xmp(6, pad: (1 << 20) - 200))), 6)
        XCTAssertEqual(OrientationSource.tag(in: png(xmp(3), xmp(6, pad: 1 << 20))), 3)
        XCTAssertThrowsError(try Inflate.zlib(stored([UInt8](repeating: 0, count: 5000)), maxOutput: 4096))
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

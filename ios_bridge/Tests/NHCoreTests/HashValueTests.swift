import Foundation
import XCTest
@testable import NHCore

final class HashValueTests: XCTestCase {
    func testBitOrderAndBytes() throws {
        let h = try NeuralHash96(hex: "800000000000000000000001")
        XCTAssertTrue(h.bit(0))
        XCTAssertTrue(h.bit(95))
        XCTAssertEqual(h.bits.filter { $0 }.count, 2)
        XCTAssertEqual(h.bytes, [0x80] + [UInt8](repeating: 0, count: 10) + [0x01])
        let mid = try NeuralHash96(hex: "000000000000000080000000")   // bit 64, the first of `low`
        XCTAssertTrue(mid.bit(64))
        XCTAssertEqual(mid.low, 0x8000_0000)
    }

    func testHammingIsSymmetricAndCountsBits() throws {
        let a = try NeuralHash96(hex: "ffffffffffffffffffffffff")
        let b = try NeuralHash96(hex: "000000000000000000000000")
        XCTAssertEqual(a.hamming(b), 96)
        XCTAssertEqual(b.hamming(a), 96)
        XCTAssertEqual(a.hamming(a), 0)
    }

    func testCodableAsHexString() throws {
        let h = try NeuralHash96(hex: "ABCDEF0123456789abcdefab")
        let json = try JSONEncoder().encode([h])
        XCTAssertEqual(String(decoding: json, as: UTF8.self), "[\"abcdef0123456789abcdefab\"]")
        XCTAssertEqual(try JSONDecoder().decode([NeuralHash96].self, from: json), [h])
        XCTAssertThrowsError(try JSONDecoder().decode([NeuralHash96].self, from: Data("[\"abc\"]".utf8)))
    }

    func testFloatHex() throws {
        XCTAssertEqual(FloatHex.encode(Float(1.0)), "3f800000")
        XCTAssertEqual(FloatHex.encode(1.0), "3ff0000000000000")
        XCTAssertEqual(FloatHex.encode(Float(-0.0)), "80000000")
        XCTAssertEqual(FloatHex.encode(Float.leastNonzeroMagnitude), "00000001")
        XCTAssertEqual(try FloatHex.float32("3f800000"), 1.0)
        XCTAssertEqual(try FloatHex.float64("bff0000000000000"), -1.0)
        XCTAssertThrowsError(try FloatHex.float32("3F800000"))   // lowercase only, as the format says
        XCTAssertThrowsError(try FloatHex.float32("3f80000"))
        XCTAssertThrowsError(try FloatHex.float64("3ff000000000000g"))
        do {
            _ = try FloatHex.float32s(["3f800000", "nope"], what: "embedding")
            XCTFail("expected an error")
        } catch let NHError.invalidFloatHex(what, index, value) {
            XCTAssertEqual(what, "embedding"); XCTAssertEqual(index, 1); XCTAssertEqual(value, "nope")
        }
    }

    func testProjectionRejectsWrongLengthAndNaN() throws {
        let seed = try Seed(values: [Float](repeating: 0.5, count: 96 * 128))
        XCTAssertThrowsError(try Projection.project(seed: seed, embedding: [Float](repeating: 0, count: 127)))
        XCTAssertThrowsError(try Projection.hash(projections: [Double](repeating: .nan, count: 96)))
        XCTAssertThrowsError(try Projection.fragileMask(projections: [Double](repeating: 0, count: 96), margin: -1))
        // -0.0 is a 1 bit.
        XCTAssertEqual(try Projection.hash(projections: [Double](repeating: -0.0, count: 96)).hex, "ffffffffffffffffffffffff")
    }

    func testSeedErrorsNameTheFile() throws {
        let dir = try makeTempDir(self)
        let url = dir.appendingPathComponent("bad.f32")
        try Data(count: 100).write(to: url)
        XCTAssertThrowsError(try Seed(contentsOf: url)) { error in
            XCTAssertTrue("\(error)".contains(url.path), "\(error)")
            XCTAssertTrue("\(error)".contains("100 bytes"), "\(error)")
        }
        XCTAssertThrowsError(try Seed(contentsOf: dir.appendingPathComponent("absent.f32"))) { error in
            XCTAssertTrue("\(error)".contains("absent.f32"), "\(error)")
        }
    }

    func testOrientationTagOutsideRangeIsIdentity() {
        XCTAssertEqual(ExifOrientation(tag: nil), .up)
        XCTAssertEqual(ExifOrientation(tag: 0), .up)
        XCTAssertEqual(ExifOrientation(tag: 9), .up)
        XCTAssertEqual(ExifOrientation(tag: 6), .right)
    }

    func testRGB8ImageValidatesSize() {
        XCTAssertThrowsError(try RGB8Image(width: 2, height: 2, pixels: [UInt8](repeating: 0, count: 11)))
        XCTAssertThrowsError(try RGB8Image(width: 0, height: 2, pixels: []))
        XCTAssertNoThrow(try RGB8Image(width: 2, height: 2, pixels: [UInt8](repeating: 0, count: 12)))
    }
}

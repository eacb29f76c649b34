import Foundation
import XCTest
import NHCore

final class ConversionTests: XCTestCase {
    func testHalfKnownValues() {
        let cases: [(Float, UInt16)] = [
            (1.0, 0x3c00), (-2.0, 0xc000), (65504, 0x7bff), (65520, 0x7c00), (0.1, 0x2e66), (1.0 / 3.0, 0x3555),
            (0.0, 0x0000), (-0.0, 0x8000), (Float(sign: .plus, exponent: -24, significand: 1), 0x0001),
            (Float(sign: .plus, exponent: -25, significand: 1), 0x0000),        // tie -> even (0)
            (Float(sign: .plus, exponent: -25, significand: 1.5), 0x0001),
            (Float(sign: .plus, exponent: -24, significand: 1.5), 0x0002),      // tie 1.5 units -> 2
            (.infinity, 0x7c00), (-.infinity, 0xfc00),
        ]
        for (x, h) in cases { XCTAssertEqual(HalfFloat.bits(x), h, "\(x)") }
        XCTAssertTrue(HalfFloat.float(HalfFloat.bits(.nan)).isNaN)
    }

    func testHalfRoundTripsEveryFiniteValue() {
        for h in UInt16.min...UInt16.max where (h >> 10) & 0x1f != 0x1f {
            let f = HalfFloat.float(h)
            XCTAssertEqual(HalfFloat.bits(f), h, "0x\(String(h, radix: 16))")
            if HalfFloat.bits(f) != h { return }
        }
    }

    func testHalfTiesAndNeighboursAgreeWithHardware() {
        #if !(os(macOS) && arch(x86_64))
        // Every midpoint between neighbouring finite halves, and points just off it.
        var mismatches = 0
        for h in UInt16(0)..<0x7bff {
            let lo = HalfFloat.float(h), hi = HalfFloat.float(h + 1)
            let mid = (Double(lo) + Double(hi)) / 2
            for x in [Float(mid), Float(mid).nextUp, Float(mid).nextDown, -Float(mid)] {
                if HalfFloat.bits(x) != Float16(x).bitPattern { mismatches += 1 }
            }
        }
        XCTAssertEqual(mismatches, 0)
        #else
        throw XCTSkip("Float16 is unavailable on Intel Macs")
        #endif
    }

    func testInt8LUTPacking() throws {
        let img = try RGB8Image(width: 2, height: 1, pixels: [0, 1, 2, 253, 254, 255])
        let lut = (0..<256).map { $0 - 128 }
        XCTAssertEqual(try Normalise.int8(img, lut: lut, layout: .nhwc), [-128, -127, -126, 125, 126, 127])
        XCTAssertEqual(try Normalise.int8(img, lut: lut, layout: .nchw), [-128, 125, -127, 126, -126, 127])
        XCTAssertThrowsError(try Normalise.int8(img, lut: [0], layout: .nchw))
        XCTAssertThrowsError(try Normalise.int8(img, lut: [Int](repeating: 200, count: 256), layout: .nchw))
    }
}

import XCTest
@testable import NHCore

/// How exact is recovering the stored colour from premultiplied samples? Every stored value s and
/// alpha a, premultiplied with rounding (p = round(s * a / 255)) as a decoder would, then
/// un-premultiplied by `Alpha.unpremultiply`.
final class AlphaTests: XCTestCase {
    func testUnpremultiplyIsExactOnlyForOpaquePixels() {
        var wrong = 0, maxDelta = 0, total = 0
        for a in 1...254 {
            for s in 0...255 {
                let p = UInt8((s * a + 127) / 255)
                let d = abs(Int(Alpha.unpremultiply(p, alpha: UInt8(a))) - s)
                total += 1
                if d != 0 { wrong += 1; maxDelta = max(maxDelta, d) }
            }
        }
        print("premultiplied -> unpremultiplied: \(wrong) of \(total) (colour, alpha) pairs differ, max |delta| \(maxDelta)")
        // Figures measured here; they are what the report note summarises ("may differ").
        XCTAssertEqual(total, 254 * 256)
        XCTAssertEqual(wrong, 32385)   // 49.8%
        XCTAssertEqual(maxDelta, 127)
        for s in 0...255 { XCTAssertEqual(Int(Alpha.unpremultiply(UInt8(s), alpha: 255)), s) }
        XCTAssertEqual(Alpha.unpremultiply(0, alpha: 0), 0)
        XCTAssertTrue(Alpha.premultipliedNote(translucentPixels: 3).contains("3 translucent pixel(s)"))
    }
}

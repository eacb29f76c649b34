import Foundation
import XCTest
import NHCore
import NHTestSupport

/// Spec step 1 per stored mode on the shared set tests/decode_modes/ (decode_modes.json; Python
/// checks every file, Java the ones javax.imageio reads): the PNG files through the tests' PNG
/// decoder (what runs on Linux; NHKit's ImageIODecoder needs Apple's ImageIO), then spec step 2.
/// The other files are listed as skipped with the reason, never dropped silently.
final class DecodeModesTests: XCTestCase {
    let dir = repoRoot.appendingPathComponent("tests/decode_modes")

    /// Why a file is not compared here, or nil when it is.
    static func skipReason(format: String, flags: [String]) -> String? {
        if flags.contains("Lossy") {
            return "lossy JPEG: a platform decoder MAY differ (spec), and NHCore has no JPEG decoder"
        }
        if format != "PNG" {
            return "\(format): NHCore on Linux decodes PNG only (NHKit's ImageIODecoder needs Apple's ImageIO)"
        }
        return nil
    }

    func testEveryPNGModeDecodesToTheReferenceBytes() throws {
        let url = dir.appendingPathComponent("decode_modes.json")
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
        XCTAssertEqual(doc["algorithm"] as? String, "nh-spec-v1/decode")
        var checked: [String] = [], skipped: [String] = [], failures: [String] = []
        for group in doc["testGroups"] as? [[String: Any]] ?? [] {
            for t in group["tests"] as? [[String: Any]] ?? [] {
                let input = t["input"] as? [String: Any] ?? [:]
                let file = input["file"] as? String ?? "?", format = input["format"] as? String ?? "?"
                let label = "\(file) (\(input["mode"] as? String ?? "?"), \(t["comment"] as? String ?? ""))"
                if let why = Self.skipReason(format: format, flags: t["flags"] as? [String] ?? []) {
                    skipped.append("\(file): \(why)")
                    continue
                }
                let valid = t["result"] as? String == "valid"
                let decoded: DecodedImage
                do {
                    decoded = try TestPNGDecoder().decode(contentsOf: dir.appendingPathComponent(file),
                                                          maxPixels: DecodeLimits.defaultMaxPixels)
                } catch {
                    if valid { failures.append("\(label): rejected: \(error)") } else { checked.append(file) }
                    continue
                }
                guard valid else { failures.append("\(label): must be rejected, was decoded"); continue }
                let e = t["expected"] as? [String: Any] ?? [:]
                let tag = ExifOrientation(tag: decoded.orientation)
                let upright = tag.apply(to: decoded.image)
                let got = "\(upright.width)x\(upright.height) orientation \(tag.rawValue) \(upright.sha256)"
                let want = "\(e["width"] ?? "?")x\(e["height"] ?? "?") orientation \(e["orientation"] ?? "?") \(e["decoded"] ?? "?")"
                if got != want { failures.append("\(label): got \(got), want \(want)") }
                checked.append(file)
            }
        }
        print("decode modes (Swift, TestPNGDecoder): \(checked.count) checked, \(skipped.count) skipped:")
        for s in skipped { print("  skipped \(s)") }
        XCTAssertTrue(failures.isEmpty, "\(failures.count) mode(s) disagree with the reference:\n  " + failures.joined(separator: "\n  "))
        XCTAssertGreaterThanOrEqual(checked.count, 27, "too few PNG files checked: \(checked)")
    }
}

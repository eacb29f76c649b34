import Foundation
import XCTest
@testable import NHCore

/// NHCore's spec constants against tests/vectors/spec/spec.json (the constants of
/// docs/spec/nh-spec-v1.md as the Python reference writes them), so a spec change the Swift side
/// misses fails here rather than as a hash mismatch on a device.
final class SpecConstantsTests: XCTestCase {
    /// spec.json keys NHCore has no named constant for (the value lives inside an algorithm and is
    /// covered by the conformance vectors instead). A key neither here nor checked below fails the
    /// test, so a constant added to spec.json must be looked at here.
    static let notNamedInNHCore: Set<String> = [
        "input_channels", "canonical_layout", "bicubic_a", "exif_orientation_tag", "orientation_values",
    ]

    func testConstantsMatchSpecJSON() throws {
        let url = vectorsDir.appendingPathComponent("spec/spec.json")
        let top = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any],
                                "\(url.path) is not a JSON object")
        XCTAssertEqual(top["schema"] as? String, "nhkit-spec-constants-v1")
        XCTAssertEqual(top["spec"] as? String, NHSpec.specID)
        let c = try XCTUnwrap(top["constants"] as? [String: Any], "\(url.path): no constants object")

        let ints: [(String, Int)] = [
            ("input_size", NHSpec.inputSize),
            ("resize_precision_bits", BicubicResize.precisionBits),
            ("embedding_dim", NHSpec.embeddingDim),
            ("embedding_dim", Projection.embeddingDim),
            ("hash_bits", NHSpec.hashBits),
            ("hash_bits", NeuralHash96.bitCount),
            ("hash_hex_digits", NeuralHash96.hexDigits),
            ("seed_rows", Seed.rows),
            ("seed_cols", Seed.cols),
            ("seed_f32_bytes", Seed.f32Bytes),
            ("seed_dat_header_bytes", Seed.datHeaderBytes),
            ("seed_dat_bytes", Seed.datBytes),
            ("default_max_pixels", DecodeLimits.defaultMaxPixels),
        ]
        let strings: [(String, String)] = [
            ("resize", NHSpec.resizeMethod),
            ("normalise", NHSpec.normaliseMethod),
        ]
        var checked = Set<String>()
        for (key, swiftValue) in ints {
            checked.insert(key)
            // JSONSerialization gives NSNumber; `as? Int` accepts only integral values.
            XCTAssertEqual(c[key] as? Int, swiftValue, "\(key): spec.json \(String(describing: c[key])), Swift \(swiftValue)")
        }
        for (key, swiftValue) in strings {
            checked.insert(key)
            XCTAssertEqual(c[key] as? String, swiftValue, "\(key): spec.json \(String(describing: c[key])), Swift \(swiftValue)")
        }
        checked.insert("orientation_policies")
        XCTAssertEqual(c["orientation_policies"] as? [String], NHSpec.Orientation.allCases.map(\.rawValue),
                       "orientation_policies")

        let unaccounted = Set(c.keys).subtracting(checked).subtracting(Self.notNamedInNHCore)
        XCTAssertEqual(unaccounted.sorted(), [], "spec.json constants neither checked nor listed as not named in NHCore")
        XCTAssertEqual(Self.notNamedInNHCore.subtracting(c.keys).sorted(), [], "notNamedInNHCore keys missing from spec.json")
    }
}

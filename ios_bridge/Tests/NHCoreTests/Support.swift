import Foundation
import XCTest
@testable import NHCore

/// The repository root, found from this file: ios_bridge/Tests/NHCoreTests/Support.swift.
let repoRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
/// The shared conformance vectors (tests/vectors/*.json).
let vectorsDir = repoRoot.appendingPathComponent("tests/vectors")

struct VectorError: Error, CustomStringConvertible {
    let description: String
}

/// One Wycheproof-style vector file.
struct VectorFile {
    struct Test {
        let tcId: Int
        let comment: String
        let flags: [String]
        let valid: Bool
        let input: [String: Any]
        let expected: [String: Any]
        let params: [String: Any]
        var label: String { "tcId \(tcId) (\(comment))" }
    }

    let name: String
    let algorithm: String
    let numberOfTests: Int
    let tests: [Test]

    /// Loads `tests/vectors/<name>`; a missing or malformed file is an error naming it.
    static func load(_ name: String) throws -> VectorFile {
        let url = vectorsDir.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw VectorError(description: "vector file \(url.path) is missing: generate it with `python tests/vectors/generate.py` (NHCore conformance cannot be checked without it)")
        }
        let obj = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        guard let top = obj as? [String: Any], top["schema"] as? String == "nhkit-vectors-v1",
              let groups = top["testGroups"] as? [[String: Any]], let n = top["numberOfTests"] as? Int else {
            throw VectorError(description: "\(url.path): not an nhkit-vectors-v1 file")
        }
        var tests: [Test] = []
        for g in groups {
            let params = g["params"] as? [String: Any] ?? [:]
            for t in g["tests"] as? [[String: Any]] ?? [] {
                guard let id = t["tcId"] as? Int, let result = t["result"] as? String,
                      let input = t["input"] as? [String: Any], let expected = t["expected"] as? [String: Any],
                      result == "valid" || result == "invalid" else {
                    throw VectorError(description: "\(url.path): malformed test \(t["tcId"] ?? "?")")
                }
                tests.append(Test(tcId: id, comment: t["comment"] as? String ?? "", flags: t["flags"] as? [String] ?? [],
                                  valid: result == "valid", input: input, expected: expected, params: params))
            }
        }
        guard tests.count == n else {
            throw VectorError(description: "\(url.path): numberOfTests is \(n) but the groups hold \(tests.count)")
        }
        return VectorFile(name: name, algorithm: top["algorithm"] as? String ?? "", numberOfTests: n, tests: tests)
    }
}

extension Dictionary where Key == String, Value == Any {
    func int(_ key: String) throws -> Int {
        guard let v = self[key] as? Int else { throw VectorError(description: "missing integer '\(key)'") }
        return v
    }
    func string(_ key: String) throws -> String {
        guard let v = self[key] as? String else { throw VectorError(description: "missing string '\(key)'") }
        return v
    }
    func strings(_ key: String) throws -> [String] {
        guard let v = self[key] as? [String] else { throw VectorError(description: "missing string list '\(key)'") }
        return v
    }
    func ints(_ key: String) throws -> [Int] {
        guard let v = self[key] as? [Int] else { throw VectorError(description: "missing integer list '\(key)'") }
        return v
    }
    func object(_ key: String) throws -> [String: Any] {
        guard let v = self[key] as? [String: Any] else { throw VectorError(description: "missing object '\(key)'") }
        return v
    }
}

/// SplitMix64 byte stream (tests/vectors/README.md): each output as 8 bytes little-endian.
func splitmixBytes(seed: UInt64, count: Int) -> [UInt8] {
    var state = seed
    var out = [UInt8](repeating: 0, count: count + 8)
    out.withUnsafeMutableBytes { raw in
        var off = 0
        while off < count {
            raw.storeBytes(of: splitmixWord(&state).littleEndian, toByteOffset: off, as: UInt64.self)
            off += 8
        }
    }
    out.removeLast(8)
    return out
}

func splitmixWord(_ state: inout UInt64) -> UInt64 {
    state = state &+ 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

extension UInt64 {
    var littleEndianBytes: [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: self >> (8 * UInt64($0))) } }
}

/// The `prng` object of a vector: `{"algorithm": "splitmix64", "seed": "<16 hex>", "levels": k?}`.
func prngBytes(_ spec: [String: Any], count: Int) throws -> [UInt8] {
    guard try spec.string("algorithm") == "splitmix64", let seed = UInt64(try spec.string("seed"), radix: 16) else {
        throw VectorError(description: "unsupported prng \(spec)")
    }
    var bytes = splitmixBytes(seed: seed, count: count)
    if let k = spec["levels"] as? Int {
        let step = 255 / (k - 1)
        bytes = bytes.map { UInt8((Int($0) % k) * step) }
    }
    return bytes
}

/// The vector's image: explicit `pixels` or `prng` bytes.
func vectorImage(_ input: [String: Any]) throws -> RGB8Image {
    let w = try input.int("width"), h = try input.int("height")
    if let px = input["pixels"] as? [Int] {
        return try RGB8Image(width: w, height: h, pixels: px.map { UInt8($0) })
    }
    return try RGB8Image(width: w, height: h, pixels: prngBytes(input.object("prng"), count: w * h * 3))
}

/// Temporary directory removed at the end of the test.
func makeTempDir(_ test: XCTestCase) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nhcore-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
    return dir
}

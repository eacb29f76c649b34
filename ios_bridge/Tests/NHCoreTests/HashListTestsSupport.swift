import Foundation
import XCTest
@testable import NHCore

/// Builds hash lists for the tests following docs/hashlist-format.md, independently of the
/// reader (entries sorted by hash bytes then UTF-8 id, grouped, offsets, fragile masks, manifest
/// with sizes and digests). Tests then alter the files or the manifest to make bad lists.
struct HashListFixture {
    static let fingerprint = String(repeating: "ab", count: 32)
    static let seedSHA = String(repeating: "cd", count: 32)

    struct In {
        var id: String
        var hash: String
        var label: String?
        var fragile: String?
    }

    var files: [String: [UInt8]] = [:]
    var manifest: [String: Any] = [:]
    var sorted: [In]
    /// When false, `write` keeps the manifest's `files` as the test set it.
    var recomputeFiles = true

    init(_ entries: [In], fragile withFragile: Bool = true) {
        sorted = entries.sorted { a, b in
            let ha = Hex.decode(a.hash)!, hb = Hex.decode(b.hash)!
            if ha != hb { return ha.lexicographicallyPrecedes(hb) }
            return Array(a.id.utf8).lexicographicallyPrecedes(Array(b.id.utf8))
        }
        var hashes: [UInt8] = [], offsets: [UInt8] = [], lines: [UInt8] = [], fragile: [UInt8] = []
        var prev: String?
        var h = 0
        for (i, e) in sorted.enumerated() {
            if e.hash != prev {
                hashes += Hex.decode(e.hash)!
                offsets += Self.le32(i)
                prev = e.hash
                h += 1
            }
            let line: [String: Any] = ["id": e.id, "hash": e.hash, "label": e.label as Any? ?? NSNull(),
                                       "source": "photos/" + e.id, "meta": [String: Any]()]
            lines += try! JSONSerialization.data(withJSONObject: line, options: [.sortedKeys, .withoutEscapingSlashes]) + [0x0A]
            fragile += Hex.decode(e.fragile ?? String(repeating: "0", count: 24))!
        }
        offsets += Self.le32(sorted.count)
        files = ["entries.jsonl": lines, "hashes.bin": hashes, "offsets.bin": offsets]
        if withFragile { files["fragile.bin"] = fragile }
        manifest = [
            "format": "nhkit-hashlist", "format_version": 1, "list_id": "known-images",
            "spec": ["id": "nh-spec-v1", "orientation": "apply", "resize": "pillow-bicubic-hv", "size": 360,
                     "normalise": "v/255*2-1", "hash_bits": 96, "embedding_dim": 128, "fragile_margin": 0.1],
            "model": ["name": "nhkit-test", "fingerprint": Self.fingerprint, "seed_sha256": Self.seedSHA],
            "counts": ["entries": sorted.count, "hashes": h],
            "threshold": NSNull(),
            "tools": ["nhkit": "test"],
        ]
    }

    static func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    func fileList() -> [[String: Any]] {
        files.keys.sorted().map { ["path": $0, "sha256": SHA256Digest.hex(files[$0]!), "size": files[$0]!.count] }
    }

    /// Writes `dir` and returns it.
    @discardableResult
    mutating func write(_ dir: URL) throws -> URL {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        if recomputeFiles { manifest["files"] = fileList() }
        let text = try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try text.write(to: dir.appendingPathComponent("manifest.json"))
        for (name, bytes) in files { try Data(bytes).write(to: dir.appendingPathComponent(name)) }
        return dir
    }

    /// A fixed small list: a shared hash (two entries), a tie pair, fragile masks, non-ASCII ids.
    static let small: [In] = [
        In(id: "b-dup", hash: "000000000000000000000000", label: "dup two", fragile: "800000000000000000000000"),
        In(id: "a-dup", hash: "000000000000000000000000", label: "dup one", fragile: nil),
        In(id: "near3", hash: "e00000000000000000000000", label: nil, fragile: "c00000000000000000000000"),
        In(id: "tie-x", hash: "00000000000000000000000f", label: "x", fragile: nil),
        In(id: "tie-y", hash: "0000000000000000000000f0", label: "y", fragile: "0000000000000000000000f0"),
        In(id: "far", hash: "ffffffffffffffffffffffff", label: "far", fragile: nil),
        In(id: "\u{FF61}half", hash: "0000000000000000ffffffff", label: "utf8 id", fragile: nil),
        In(id: "\u{1F600}", hash: "0000000000000000ffffffff", label: "astral id", fragile: nil),
    ]
}

/// Asserts that `body` throws `NHError.hashList` with `field`, and returns the message.
@discardableResult
func assertHashListError(_ field: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) -> String {
    do {
        try body()
        XCTFail("expected an error naming \(field), got none", file: file, line: line)
    } catch let e as NHError {
        guard case .hashList(_, let f, _) = e else {
            XCTFail("expected NHError.hashList naming \(field), got \(e)", file: file, line: line)
            return ""
        }
        XCTAssertEqual(f, field, "\(e)", file: file, line: line)
        XCTAssertTrue(e.description.contains(field), "message names the field: \(e)", file: file, line: line)
        return e.description
    } catch {
        XCTFail("expected NHError.hashList naming \(field), got \(error)", file: file, line: line)
    }
    return ""
}

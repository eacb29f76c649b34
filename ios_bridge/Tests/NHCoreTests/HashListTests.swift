import Foundation
import XCTest
@testable import NHCore

/// HashList: reading a folder, and every bad input of docs/hashlist-format.md.
final class HashListTests: XCTestCase {
    func dir(_ f: inout HashListFixture) throws -> URL {
        try f.write(try makeTempDir(self).appendingPathComponent("known-images"))
    }

    func small() -> HashListFixture { HashListFixture(HashListFixture.small) }

    func testReadsFolder() throws {
        var f = small()
        let l = try HashList(contentsOf: try dir(&f))
        XCTAssertEqual(l.listID, "known-images")
        XCTAssertEqual(l.fingerprint, HashListFixture.fingerprint)
        XCTAssertEqual(l.seedSHA256, HashListFixture.seedSHA)
        XCTAssertEqual(l.count, 8)
        XCTAssertEqual(l.hashCount, 6)
        XCTAssertTrue(l.hasFragile)
        XCTAssertNil(l.threshold)
        XCTAssertEqual(l.spec.fragileMargin, 0.1)
        XCTAssertEqual(l.entries.map(\.id), ["a-dup", "b-dup", "tie-x", "tie-y", "\u{FF61}half", "\u{1F600}", "near3", "far"])
        XCTAssertEqual(l.entries[0].source, "photos/a-dup")
        XCTAssertEqual(l.entries[0].meta, .object([:]))
        XCTAssertNil(l.entries[6].label)
        XCTAssertEqual(l.entries[4].hash.hex, "0000000000000000ffffffff")
    }

    func testEmptyListIsValid() throws {
        var f = HashListFixture([], fragile: false)
        let l = try HashList(contentsOf: try dir(&f))
        XCTAssertEqual(l.count, 0)
        XCTAssertEqual(l.hashCount, 0)
        XCTAssertFalse(l.hasFragile)
    }

    func testThreshold() throws {
        var f = small()
        var t: [String: Any] = ["recommended": 12, "fpr": 0.0, "criterion": "zero-fp", "negative_pairs": 31125,
                                "negative_images": 250, "drift_p99": 3, "source": "nhkit match calibrate",
                                "report_sha256": String(repeating: "ef", count: 32)]
        f.manifest["threshold"] = t
        let l = try HashList(contentsOf: try dir(&f))
        XCTAssertEqual(l.threshold?.recommended, 12)
        XCTAssertEqual(l.threshold?.driftP99, 3)
        for (key, value, field) in [("recommended", 97 as Any, "threshold.recommended"), ("negative_images", 1, "threshold.negative_images"),
                                    ("criterion", "fpr<=one", "threshold.criterion"), ("source", "", "threshold.source")] {
            var bad = t
            bad[key] = value
            f.manifest["threshold"] = bad
            let d = try dir(&f)
            assertHashListError(field) { _ = try HashList(contentsOf: d) }
        }
        t["criterion"] = "fpr<=1e-3"
        f.manifest["threshold"] = t
        XCTAssertEqual(try HashList(contentsOf: try dir(&f)).threshold?.criterion, "fpr<=1e-3")
    }

    func testTamperedAndTruncatedFiles() throws {
        var f = small()
        let d = try dir(&f)
        var h = try [UInt8](Data(contentsOf: d.appendingPathComponent("hashes.bin")))
        h[3] ^= 1
        try Data(h).write(to: d.appendingPathComponent("hashes.bin"))
        XCTAssertTrue(assertHashListError("hashes.bin") { _ = try HashList(contentsOf: d) }.contains("sha256"))
        var g = small()
        let d2 = try dir(&g)
        let e = try Data(contentsOf: d2.appendingPathComponent("entries.jsonl"))
        try e.prefix(e.count - 5).write(to: d2.appendingPathComponent("entries.jsonl"))
        XCTAssertTrue(assertHashListError("entries.jsonl") { _ = try HashList(contentsOf: d2) }.contains("size"))
    }

    func testUnlistedAndMissingFiles() throws {
        var f = small()
        let d = try dir(&f)
        try Data([1]).write(to: d.appendingPathComponent("extra.txt"))
        assertHashListError("extra.txt") { _ = try HashList(contentsOf: d) }
        let d2 = try dir(&f)
        try FileManager.default.removeItem(at: d2.appendingPathComponent("fragile.bin"))
        assertHashListError("fragile.bin") { _ = try HashList(contentsOf: d2) }
        let d3 = try dir(&f)
        try FileManager.default.removeItem(at: d3.appendingPathComponent("manifest.json"))
        assertHashListError("manifest.json") { _ = try HashList(contentsOf: d3) }
        let none = try makeTempDir(self).appendingPathComponent("no-such-list")
        assertHashListError("manifest.json") { _ = try HashList(contentsOf: none) }
    }

    func testWrongFormatAndVersion() throws {
        var f = small()
        f.manifest["format_version"] = 2
        var d = try dir(&f)
        assertHashListError("format_version") { _ = try HashList(contentsOf: d) }
        f.manifest["format_version"] = 1
        f.manifest["format"] = "nhkit-bundle"
        d = try dir(&f)
        assertHashListError("format") { _ = try HashList(contentsOf: d) }
        f.manifest["format"] = "nhkit-hashlist"
        f.manifest["format_version"] = true // not an integer (JSONSerialization would say 1)
        d = try dir(&f)
        assertHashListError("format_version") { _ = try HashList(contentsOf: d) }
        f.manifest["format_version"] = 1
        let tools = f.manifest.removeValue(forKey: "tools") // required (the schema's rule)
        d = try dir(&f)
        assertHashListError("tools") { _ = try HashList(contentsOf: d) }
        f.manifest["tools"] = tools
        var spec = f.manifest["spec"] as! [String: Any]
        spec["hash_bits"] = nil // every spec field is required in a list
        f.manifest["spec"] = spec
        d = try dir(&f)
        assertHashListError("spec.hash_bits") { _ = try HashList(contentsOf: d) }
        spec["hash_bits"] = 64
        f.manifest["spec"] = spec
        d = try dir(&f)
        assertHashListError("spec") { _ = try HashList(contentsOf: d) }
    }

    func testDuplicateKeys() throws {
        var f = small()
        let d = try dir(&f)
        let m = d.appendingPathComponent("manifest.json")
        let text = try String(contentsOf: m, encoding: .utf8)
        try text.replacingOccurrences(of: "\"list_id\"", with: "\"list_id\" : \"x\",\n  \"list_id\"").write(to: m, atomically: true, encoding: .utf8)
        XCTAssertTrue(assertHashListError("list_id") { _ = try HashList(contentsOf: d) }.contains("twice"))
        var g = small()
        let lines = String(decoding: g.files["entries.jsonl"]!, as: UTF8.self)
        g.files["entries.jsonl"] = Array(lines.replacingOccurrences(of: "\"label\"", with: "\"id\":\"z\",\"label\"").utf8)
        let d2 = try dir(&g)
        XCTAssertTrue(assertHashListError("id") { _ = try HashList(contentsOf: d2) }.contains("twice"))
    }

    func testCountsDisagreeWithSizes() throws {
        var f = small()
        f.manifest["counts"] = ["entries": 8, "hashes": 5]
        var d = try dir(&f)
        assertHashListError("hashes.bin") { _ = try HashList(contentsOf: d) }
        f.manifest["counts"] = ["entries": 9, "hashes": 6]
        d = try dir(&f)
        assertHashListError("fragile.bin") { _ = try HashList(contentsOf: d) }
        f.files["fragile.bin"] = nil
        d = try dir(&f)
        assertHashListError("offsets.bin") { _ = try HashList(contentsOf: d) }
    }

    /// A tiny list that claims a huge count (offsets agree) must fail cleanly, not allocate.
    func testHugeClaimedCount() throws {
        for n in [Int(Int32.max) - 8, Int(UInt32.max)] {
            var f = HashListFixture([.init(id: "x", hash: "000000000000000000000001", label: nil, fragile: nil)], fragile: false)
            f.files["offsets.bin"] = HashListFixture.le32(0) + HashListFixture.le32(n)
            f.manifest["counts"] = ["entries": n, "hashes": 1]
            let d = try dir(&f)
            assertHashListError(n > Int(Int32.max) ? "counts.entries" : "entries.jsonl") { _ = try HashList(contentsOf: d) }
        }
    }

    func testUnsortedHashesAndBadOffsets() throws {
        var f = small()
        var h = f.files["hashes.bin"]!
        h.replaceSubrange(12..<36, with: Array(h[24..<36] + h[12..<24]))
        f.files["hashes.bin"] = h
        let d = try dir(&f)
        assertHashListError("hashes.bin") { _ = try HashList(contentsOf: d) }
        var g = small()
        g.files["offsets.bin"]![4] = 1 // offsets[1] = 1: line 2 then belongs to the second hash
        let d2 = try dir(&g)
        XCTAssertTrue(assertHashListError("hash") { _ = try HashList(contentsOf: d2) }.contains("line 2"))
        var k = small()
        k.files["offsets.bin"]![0] = 1
        let d3 = try dir(&k)
        assertHashListError("offsets.bin") { _ = try HashList(contentsOf: d3) }
    }

    func testBadEntries() throws {
        let cases: [(String, String, String)] = [
            ("\"label\":\"dup one\"", "\"label\":\"" + String(repeating: "x", count: 1025) + "\"", "label"),
            ("\"label\":\"dup one\"", "\"label\":7", "label"),
            ("\"meta\":{}", "\"meta\":[]", "meta"),
            ("\"meta\":{}", "\"meta\":{},\"extra\":1", "extra"),
            ("\"id\":\"a-dup\"", "\"id\":\"\"", "id"),
            ("\"id\":\"a-dup\"", "\"id\":\"b-dup\"", "id"),
            ("\"hash\":\"000000000000000000000000\"", "\"hash\":\"00000000000000000000000G\"", "hash"),
            ("\"hash\":\"000000000000000000000000\"", "\"hash\":\"000000000000000000000001\"", "hash"),
            ("\"source\":\"photos/a-dup\"", "\"source\":\"" + String(repeating: "s", count: 4097) + "\"", "source"),
            ("\"meta\":{}", "\"meta\":{\"k\":\"" + String(repeating: "m", count: 65 * 1024) + "\"}", "entries.jsonl"),
        ]
        for (old, new, field) in cases {
            var f = small()
            let lines = String(decoding: f.files["entries.jsonl"]!, as: UTF8.self)
            let first = lines.range(of: old)
            XCTAssertNotNil(first, old)
            f.files["entries.jsonl"] = Array(lines.replacingCharacters(in: first!, with: new).utf8)
            let d = try dir(&f)
            assertHashListError(field) { _ = try HashList(contentsOf: d) }
        }
        // meta is not re-measured by readers (the writer limits it; the line cap bounds it).
        var big = small()
        let text = String(decoding: big.files["entries.jsonl"]!, as: UTF8.self)
        big.files["entries.jsonl"] = Array(text.replacingCharacters(in: text.range(of: "\"meta\":{}")!,
                                                                   with: "\"meta\":{\"k\":\"" + String(repeating: "m", count: 20 * 1024) + "\"}").utf8)
        XCTAssertEqual(try HashList(contentsOf: try dir(&big)).entries[0].meta, .object(["k": .string(String(repeating: "m", count: 20 * 1024))]))
        var f = small()
        f.files["entries.jsonl"]!.removeLast() // no final newline
        var d = try dir(&f)
        assertHashListError("entries.jsonl") { _ = try HashList(contentsOf: d) }
        var g = small()
        g.files["entries.jsonl"]! += [0x0A] // a blank line
        d = try dir(&g)
        assertHashListError("entries.jsonl") { _ = try HashList(contentsOf: d) }
        var k = small() // ids of one hash out of UTF-8 order
        k.files["entries.jsonl"] = Array(String(decoding: k.files["entries.jsonl"]!, as: UTF8.self)
            .replacingOccurrences(of: "\"id\":\"a-dup\"", with: "\"id\":\"c-dup\"").utf8)
        d = try dir(&k)
        assertHashListError("id") { _ = try HashList(contentsOf: d) }
    }

    func testBadModelDigests() throws {
        var f = small()
        f.manifest["model"] = ["name": "m", "fingerprint": String(repeating: "AB", count: 32), "seed_sha256": HashListFixture.seedSHA]
        var d = try dir(&f)
        assertHashListError("model.fingerprint") { _ = try HashList(contentsOf: d) }
        f.manifest["model"] = ["name": "m", "fingerprint": HashListFixture.fingerprint, "seed_sha256": String(repeating: "cd", count: 31)]
        d = try dir(&f)
        assertHashListError("model.seed_sha256") { _ = try HashList(contentsOf: d) }
    }

    func testNotJSONAndHugeManifest() throws {
        var f = small()
        let d = try dir(&f)
        try Data("{\"format\": ".utf8).write(to: d.appendingPathComponent("manifest.json"))
        assertHashListError("manifest.json") { _ = try HashList(contentsOf: d) }
        try Data(repeating: 0x20, count: (1 << 20) + 10).write(to: d.appendingPathComponent("manifest.json"))
        assertHashListError("manifest.json") { _ = try HashList(contentsOf: d) }
    }

    func testModelCheckNamesBoth() throws {
        var f = small()
        let l = try HashList(contentsOf: try dir(&f))
        try l.checkModel(fingerprint: HashListFixture.fingerprint, seedSHA256: HashListFixture.seedSHA, source: "test")
        let other = String(repeating: "11", count: 32), seed = String(repeating: "22", count: 32)
        let m1 = assertHashListError("model.fingerprint") {
            try l.checkModel(fingerprint: other, seedSHA256: HashListFixture.seedSHA, source: "bundle x")
        }
        XCTAssertTrue(m1.contains(other) && m1.contains(HashListFixture.fingerprint), m1)
        let m2 = assertHashListError("model.seed_sha256") {
            try l.checkModel(fingerprint: HashListFixture.fingerprint, seedSHA256: seed, source: "bundle x")
        }
        XCTAssertTrue(m2.contains(seed) && m2.contains(HashListFixture.seedSHA), m2)
    }

    /// checkModel(bundle:) against a real (test) bundle: its source_model.fingerprint and
    /// seed.sha256 must be the list's, and its spec hash-compatible.
    func testModelCheckAgainstABundle() throws {
        let root = try makeTempDir(self)
        var bundle = try TestBundle.make(in: root, sources: [])
        let opened = try NHBundle(url: bundle.url)
        let bundleFingerprint = String(repeating: "cd", count: 32), bundleSeed = try TestBundle.randomSeed(99).sha256
        var f = small()
        f.manifest["model"] = ["name": "m", "fingerprint": bundleFingerprint, "seed_sha256": bundleSeed]
        let same = try HashList(contentsOf: try dir(&f))
        try same.checkModel(bundle: opened)
        f.manifest["model"] = ["name": "m", "fingerprint": HashListFixture.fingerprint, "seed_sha256": bundleSeed]
        let other = try HashList(contentsOf: try dir(&f))
        let m1 = assertHashListError("model.fingerprint") { try other.checkModel(bundle: opened) }
        XCTAssertTrue(m1.contains(bundleFingerprint) && m1.contains(HashListFixture.fingerprint), m1)
        f.manifest["model"] = ["name": "m", "fingerprint": bundleFingerprint, "seed_sha256": HashListFixture.seedSHA]
        let otherSeed = try HashList(contentsOf: try dir(&f))
        let m2 = assertHashListError("model.seed_sha256") { try otherSeed.checkModel(bundle: opened) }
        XCTAssertTrue(m2.contains(bundleSeed) && m2.contains(HashListFixture.seedSHA), m2)
        try bundle.editManifest { m in
            var spec = m["spec"] as! [String: Any]
            spec["orientation"] = "ignore"
            m["spec"] = spec
        }
        assertHashListError("spec") { try same.checkModel(bundle: try NHBundle(url: bundle.url)) }
        // A bundle without a weights fingerprint never reaches the list: the format requires it.
        try bundle.editManifest { m in m["source_model"] = ["name": "test"] }
        XCTAssertThrowsError(try NHBundle(url: bundle.url)) { e in
            XCTAssertTrue("\(e)".contains("source_model.fingerprint: missing"), "\(e)")
        }
    }

    /// The strict reader behind the list's JSON files: duplicates (also when spelled with an
    /// escape), types that JSONSerialization conflates, and malformed text.
    func testStrictJSON() throws {
        XCTAssertEqual(try StrictJSON.parse(Array("{\"a\": [1, 2.5, true, null, \"\\u00e9\\ud83d\\ude00\"]}".utf8)),
                       .object(["a": .array([.number("1"), .number("2.5"), .bool(true), .null, .string("\u{E9}\u{1F600}")])]))
        XCTAssertEqual(StrictJSON.number("1").intValue, 1)
        XCTAssertNil(StrictJSON.number("1.0").intValue)
        XCTAssertNil(StrictJSON.bool(true).intValue)
        for bad in ["{\"a\":1,\"a\":2}", "{\"a\":1,\"\\u0061\":2}", "{\"x\":{\"b\":1,\"b\":1}}", "[1,]", "{\"a\" 1}",
                    "01", "1.", "-", "\"\\ud800\"", "\"a\u{01}\"", "[1] x", "\u{FEFF}{}", "tru", "{", "", "\"\\x\""] {
            XCTAssertThrowsError(try StrictJSON.parse(Array(bad.utf8)), bad)
        }
        XCTAssertThrowsError(try StrictJSON.parse([0x22, 0xFF, 0x22]), "invalid UTF-8")
        for (text, path) in [("{\"a\": [1, {\"x\": 2}], \"counts\": {\"hashes\": 1, \"entries\": 2, \"hashes\": 3}}", "counts.hashes"),
                             ("{\"files\": [{\"path\": \"a\"}, {\"path\": \"b\", \"p\\u0061th\": \"c\"}]}", "files[1].path"),
                             ("{\"id\": 1, \"id\": 2}", "id")] {
            XCTAssertThrowsError(try StrictJSON.parse(Array(text.utf8))) { e in
                XCTAssertEqual((e as? StrictJSON.ParseError)?.duplicatePath, path, text)
            }
        }

        XCTAssertThrowsError(try StrictJSON.parse(Array((String(repeating: "[", count: 300) + String(repeating: "]", count: 300)).utf8)))
        XCTAssertEqual(StrictJSON.object(["b": .string("é\n"), "a": .number("1")]).compactText, "{\"a\":1,\"b\":\"\\u00e9\\n\"}")
    }
}

import Foundation
import XCTest
@testable import NHCore

/// NHCore against tests/vectors/match_lists.json and match_search.json: each list materialised
/// as the folder `<list_id>/` in a temporary directory, the same verdict as Python (an invalid
/// case's error must name the expected field).
final class HashListVectorTests: XCTestCase {
    func materialise(_ listID: String, _ files: [String: Any], in root: URL) throws -> URL {
        let dir = root.appendingPathComponent(listID)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, spec) in files {
            guard BundleManifest.isSafeRelativePath(name), let hex = (spec as? [String: Any])?["hex"] as? String,
                  let bytes = Hex.decode(hex) else {
                throw VectorError(description: "bad file entry \(name)")
            }
            try Data(bytes).write(to: dir.appendingPathComponent(name))
        }
        return dir
    }

    func expectError(_ t: VectorFile.Test, _ body: () throws -> Void) throws {
        let field = try t.expected.string("field")
        do {
            try body()
            XCTFail("\(t.label): accepted (expected an error naming \(field))")
        } catch let e as NHError {
            XCTAssertTrue(e.description.contains(field), "\(t.label): the error must name \(field): \(e)")
        }
    }

    func testMatchLists() throws {
        let file = try VectorFile.load("match_lists.json")
        XCTAssertEqual(file.algorithm, "nhkit-hashlist-v1/read")
        var ran = 0
        for t in file.tests {
            let root = try makeTempDir(self)
            let dir = try materialise(try t.input.string("list_id"), try t.input.object("files"), in: root)
            if t.valid {
                do {
                    let l = try HashList(contentsOf: dir)
                    XCTAssertEqual(l.count, try t.expected.int("entries"), t.label)
                    XCTAssertEqual(l.hashCount, try t.expected.int("hashes"), t.label)
                    XCTAssertEqual(l.listID, try t.expected.string("list_id"), t.label)
                    XCTAssertEqual(l.fingerprint, try t.expected.string("fingerprint"), t.label)
                    XCTAssertEqual(l.seedSHA256, try t.expected.string("seed_sha256"), t.label)
                } catch {
                    XCTFail("\(t.label): rejected a valid list: \(error)")
                }
            } else {
                try expectError(t) { _ = try HashList(contentsOf: dir) }
            }
            ran += 1
        }
        XCTAssertEqual(ran, file.numberOfTests)
    }

    func testMatchSearch() throws {
        let file = try VectorFile.load("match_search.json")
        XCTAssertEqual(file.algorithm, "nhkit-hashlist-v1/search")
        var matchers: [String: HashMatcher] = [:] // one list per group, keyed by its files
        var ran = 0
        for t in file.tests {
            let files = try t.params.object("files")
            let key = String(describing: files.keys.sorted().map { "\($0)=\((files[$0] as? [String: Any])?["hex"] ?? "")" })
            if matchers[key] == nil {
                let dir = try materialise(try t.params.string("list_id"), files, in: try makeTempDir(self))
                matchers[key] = try HashMatcher(contentsOf: dir)
            }
            let m = matchers[key]!
            let query = try NeuralHash96(hex: try t.input.string("query"))
            let fragile = try (t.input["fragile"] as? String).map { try NeuralHash96(hex: $0) }
            let threshold = try t.input.int("threshold")
            let search = { () throws -> [HashMatch] in
                if let model = t.input["model"] as? [String: Any] {
                    try m.list.checkModel(fingerprint: try model.string("fingerprint"), seedSHA256: try model.string("seed_sha256"),
                                          source: "vector query")
                }
                return try m.search(query, fragile: fragile, threshold: threshold)
            }
            if t.valid {
                do {
                    let got = try search().map { "\($0.entry)|\($0.id)|\($0.label ?? "null")|\($0.distance)|\($0.nonfragileDistance)" }
                    let want = (t.expected["hits"] as? [[String: Any]] ?? []).map {
                        "\($0["entry"] as? Int ?? -1)|\($0["id"] as? String ?? "?")|\($0["label"] as? String ?? "null")|\($0["distance"] as? Int ?? -1)|\($0["nonfragile_distance"] as? Int ?? -1)"
                    }
                    XCTAssertEqual(got, want, t.label)
                } catch {
                    XCTFail("\(t.label): rejected a valid query: \(error)")
                }
            } else {
                try expectError(t) { _ = try search() }
            }
            ran += 1
        }
        XCTAssertEqual(ran, file.numberOfTests)
    }
}

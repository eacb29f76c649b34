import Foundation
import XCTest
@testable import NHCore

/// HashMatcher: search semantics (docs/hashlist-format.md) against a naive reference, threads.
final class HashListMatchTests: XCTestCase {
    func matcher(_ entries: [HashListFixture.In]) throws -> (HashMatcher, HashListFixture) {
        var f = HashListFixture(entries)
        let d = try f.write(try makeTempDir(self).appendingPathComponent("known-images"))
        return (try HashMatcher(contentsOf: d), f)
    }

    func rows(_ hits: [HashMatch]) -> [String] {
        hits.map { "\($0.entry)/\($0.id)/\($0.label ?? "nil")/\($0.distance)/\($0.nonfragileDistance)" }
    }

    /// The doc's definition, entry by entry and bit by bit, sorted by (distance, entry index).
    func naive(_ l: HashList, _ q: NeuralHash96, _ fq: NeuralHash96?, _ t: Int, _ fe: [NeuralHash96]) -> [String] {
        var hits: [(Int, Int, Int)] = []
        for (i, e) in l.entries.enumerated() {
            let d = q.hamming(e.hash)
            guard d <= t else { continue }
            let nf = (0..<96).filter { b in q.bit(b) != e.hash.bit(b) && !(fq?.bit(b) ?? false) && !fe[i].bit(b) }.count
            hits.append((d, i, nf))
        }
        hits.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        return hits.map { "\($0.1)/\(l.entries[$0.1].id)/\(l.entries[$0.1].label ?? "nil")/\($0.0)/\($0.2)" }
    }

    func testSmallListRows() throws {
        let (m, _) = try matcher(HashListFixture.small)
        let zero = try NeuralHash96(hex: "000000000000000000000000")
        XCTAssertEqual(rows(try m.search(zero, threshold: 4)), [
            "0/a-dup/dup one/0/0", "1/b-dup/dup two/0/0", // shared hash, entry order
            "6/near3/nil/3/1",                            // its own mask hides 2 of its 3 bits
            "2/tie-x/x/4/4", "3/tie-y/y/4/0",             // tie at the boundary T = 4, entry order
        ])
        XCTAssertEqual(try m.search(zero, threshold: 3).count, 3)
        let masked = try m.search(zero, fragile: try NeuralHash96(hex: "00000000000000000000000f"), threshold: 4)
        XCTAssertEqual(masked[3].distance, 4)
        XCTAssertEqual(masked[3].nonfragileDistance, 0)
        XCTAssertEqual(try m.search(zero, threshold: 96).count, 8)
        XCTAssertEqual(try m.search(try NeuralHash96(hex: "aaaaaaaaaaaaaaaaaaaaaaaa"), threshold: 0), [])
    }

    func testThresholdOutsideRange() throws {
        let (m, _) = try matcher(HashListFixture.small)
        for t in [-1, 97, Int.min, Int.max] {
            assertHashListError("threshold") { _ = try m.search(NeuralHash96(high: 0, low: 0), threshold: t) }
        }
    }

    func testEmptyList() throws {
        let (m, _) = try matcher([])
        XCTAssertEqual(try m.search(NeuralHash96(high: 0, low: 0), threshold: 96), [])
    }

    func testHashResultUsesTheListMargin() throws {
        let (m, _) = try matcher(HashListFixture.small)
        // Projections: bits 92..95 negative-small (fragile at the list's margin 0.1), rest positive.
        var p = [Double](repeating: -1.0, count: 96)
        for b in 92..<96 { p[b] = 0.05 }
        let hash = try Projection.hash(projections: p)
        XCTAssertEqual(hash.hex, "00000000000000000000000f")
        let r = HashResult(hash: hash, projections: p, embedding: [], fragile: NeuralHash96(high: 0, low: 0), digests: nil, timings: .init())
        let hits = try m.search(r, threshold: 0)
        XCTAssertEqual(rows(hits), ["2/tie-x/x/0/0"])
        let near = try m.search(r, threshold: 4)
        XCTAssertEqual(near.first { $0.id == "a-dup" }?.nonfragileDistance, 0) // all 4 differing bits are fragile
    }

    func testMatchesNaiveDefinition() throws {
        var g = SplitMix(seed: 11)
        let centres = (0..<20).map { _ in (g.next(), UInt32(truncatingIfNeeded: g.next())) }
        var entries: [HashListFixture.In] = []
        for i in 0..<400 {
            var (h, l) = centres[Int(g.next() % 20)]
            for _ in 0..<Int(g.next() % 20) { flip(&h, &l, Int(g.next() % 96)) }
            var (fh, fl) = (UInt64(0), UInt32(0))
            for _ in 0..<Int(g.next() % 6) { flip(&fh, &fl, Int(g.next() % 96)) }
            entries.append(.init(id: "id\(i)", hash: NeuralHash96(high: h, low: l).hex, label: i % 2 == 0 ? "l\(i)" : nil,
                                 fragile: NeuralHash96(high: fh, low: fl).hex))
        }
        let (m, f) = try matcher(entries)
        let fe = try f.sorted.map { try NeuralHash96(hex: $0.fragile!) }
        var total = 0
        for qi in 0..<40 {
            var (h, l) = centres[Int(g.next() % 20)]
            for _ in 0..<Int(g.next() % 12) { flip(&h, &l, Int(g.next() % 96)) }
            var (fh, fl) = (UInt64(0), UInt32(0))
            for _ in 0..<Int(g.next() % 6) { flip(&fh, &fl, Int(g.next() % 96)) }
            let q = NeuralHash96(high: h, low: l), fq = qi % 2 == 0 ? nil : NeuralHash96(high: fh, low: fl)
            for t in [0, 8, 12, 16, 24, 96] {
                let got = rows(try m.search(q, fragile: fq, threshold: t))
                XCTAssertEqual(got, naive(m.list, q, fq, t, fe), "query \(qi) T=\(t)")
                total += got.count
            }
        }
        XCTAssertGreaterThan(total, 500, "the test must exercise hits")
    }

    /// Many threads querying one matcher get exactly the single-threaded answers.
    func testConcurrentQueriesAgree() throws {
        var g = SplitMix(seed: 5)
        let entries = (0..<2000).map { i in
            HashListFixture.In(id: "e\(i)", hash: NeuralHash96(high: g.next() & 0x0FFF_FFFF_FFFF_FFFF, low: UInt32(truncatingIfNeeded: g.next())).hex,
                               label: "l\(i)", fragile: nil)
        }
        let (m, _) = try matcher(entries)
        let queries = (0..<64).map { _ in m.list.entries[Int(g.next() % 2000)].hash }
        let expected = try queries.map { try m.search($0, threshold: 38) }
        XCTAssertGreaterThan(expected.map(\.count).reduce(0, +), queries.count, "queries must have hits")
        let mismatches = Counter()
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            for r in 0..<4 {
                for i in 0..<queries.count {
                    let qi = (i * 7 + t + r) % queries.count
                    if (try? m.search(queries[qi], threshold: 38)) != expected[qi] { mismatches.add() }
                }
            }
        }
        XCTAssertEqual(mismatches.value, 0)
    }
}

private func flip(_ h: inout UInt64, _ l: inout UInt32, _ bit: Int) {
    if bit < 64 { h ^= 1 << UInt64(63 - bit) } else { l ^= 1 << UInt32(95 - bit) }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 { splitmixWord(&state) }
}

private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}

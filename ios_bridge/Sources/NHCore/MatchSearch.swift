import Foundation

/// One hit of a range query (docs/hashlist-format.md, "Search semantics").
public struct HashMatch: Equatable, Hashable, Sendable {
    /// The entry's 0-based line in entries.jsonl.
    public let entry: Int
    public let id: String
    public let label: String?
    /// popcount(q XOR h), 0...96.
    public let distance: Int
    /// popcount((q XOR h) AND NOT (fq OR fe)): the differing bits neither side's fragile mask
    /// marks as unsure. Never more than `distance`.
    public let nonfragileDistance: Int
}

/// Range queries against a `HashList` by brute force: each distinct hash is a `UInt64` (bits
/// 0..63) and a `UInt32` (bits 64..95), a distance two `nonzeroBitCount`s, so a query over 100,000
/// hashes is one pass over 1.2 MB (benchmarks/results/match_swift.md).
///
/// Rows: every entry within `threshold` bits, sorted by distance then entry index, each with its
/// non-fragile distance. Immutable and `Sendable`: load once, query from any thread.
public struct HashMatcher: Sendable {
    public let list: HashList

    public init(list: HashList) { self.list = list }

    /// Loads and verifies the list folder at `url`.
    public init(contentsOf url: URL) throws { list = try HashList(contentsOf: url) }

    /// Every entry within `threshold` (0...96) bits of `query`; `fragile` is the query's fragile
    /// mask (nil: none).
    /// - Throws: `NHError.hashList(field: "threshold")` for a threshold outside 0...96.
    public func search(_ query: NeuralHash96, fragile: NeuralHash96? = nil, threshold: Int) throws -> [HashMatch] {
        guard (0...NeuralHash96.bitCount).contains(threshold) else {
            throw NHError.hashList(path: list.url.path, field: "threshold", reason: "\(threshold) is outside 0...\(NeuralHash96.bitCount)")
        }
        let qh = query.high, ql = query.low
        var keys: [UInt64] = []
        list.hashHigh.withUnsafeBufferPointer { hi in
            list.hashLow.withUnsafeBufferPointer { lo in
                list.offsets.withUnsafeBufferPointer { off in
                    for k in 0..<hi.count {
                        let d = (qh ^ hi[k]).nonzeroBitCount &+ (ql ^ lo[k]).nonzeroBitCount
                        if d <= threshold {
                            for e in off[k]..<off[k + 1] { keys.append(UInt64(d) << 32 | UInt64(e)) }
                        }
                    }
                }
            }
        }
        keys.sort()
        let fqh = fragile?.high ?? 0, fql = fragile?.low ?? 0
        return keys.map { key in
            let d = Int(key >> 32), e = Int(key & 0xFFFF_FFFF)
            let k = group(of: e)
            let xh = (qh ^ list.hashHigh[k]) & ~(fqh | (list.fragileHigh?[e] ?? 0))
            let xl = (ql ^ list.hashLow[k]) & ~(fql | (list.fragileLow?[e] ?? 0))
            let entry = list.entries[e]
            return HashMatch(entry: e, id: entry.id, label: entry.label, distance: d,
                             nonfragileDistance: xh.nonzeroBitCount + xl.nonzeroBitCount)
        }
    }

    /// Range query for a hash computed on this device: its fragile mask is taken from its
    /// projections at the list's `spec.fragile_margin` (the margin of the list's own masks).
    public func search(_ result: HashResult, threshold: Int) throws -> [HashMatch] {
        let mask = try Projection.fragileMask(projections: result.projections, margin: list.spec.fragileMargin)
        return try search(result.hash, fragile: mask, threshold: threshold)
    }

    /// The hash group that owns entry `e` (binary search over the offsets).
    private func group(of e: Int) -> Int {
        var lo = 0, hi = list.offsets.count - 2
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if list.offsets[mid] <= e { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }
}

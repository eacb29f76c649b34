import Foundation

/// The bridges' seeded mutation fuzzer (docs: benchmarks/results/fuzz_bridges.md). The same
/// operators, in the same order and with the same SplitMix64 stream, are in Java
/// (android_bridge/core/src/test/java/dev/nhkit/core/FuzzMutator.java), so a finding's
/// (reader, seed, index) names the input in both languages' terms. Deterministic: input i of a
/// reader is a function of (run seed, reader name, i) only.
struct FuzzRNG {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state = state &+ 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform-enough integer in 0..<n (n > 0).
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }

    /// The stream of input `index` of `reader` in a run seeded with `seed` (FNV-1a of the name).
    static func forInput(seed: UInt64, reader: String, index: Int) -> FuzzRNG {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in reader.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        var r = FuzzRNG(seed ^ h ^ (UInt64(index) &* 0xD1B5_4A32_D192_ED03))
        _ = r.next()
        return r
    }
}

enum FuzzMutator {
    /// Values that often sit on a reader's edge cases: JSON tokens (out-of-range numbers,
    /// wrong types, deep nesting, escapes, path tricks) for the JSON-aware operators.
    static let jsonTokens: [String] = [
        "0", "-1", "-0", "1.5", "1e999", "-1e999", "1e-400", "9223372036854775807", "9223372036854775808",
        "-9223372036854775809", "18446744073709551616", "2147483648", "4294967296", "0.1", "360", "96", "128",
        "null", "true", "false", "\"\"", "\"x\"", "[]", "{}", "[null]", "{\"\": 0}", "\"\\u0000\"", "\"\\ud800\"",
        "\"../x\"", "\"/abs\"", "\"a/../../b\"", "\"" + String(repeating: "a", count: 300) + "\"",
        String(repeating: "[", count: 300), "NaN", "Infinity", "\"0000000000000000000000000\"",
        "\"nh-spec-v1\"", "\"NHWC\"", "\"NCHW\"", "\"int8\"", "\"float32\"", "\"uint8\"",
    ]
    /// Byte values and 32-bit big- and little-endian integers for binary formats (PNG/TIFF lengths
    /// and offsets, hash-list words, seed floats).
    static let bytes: [UInt8] = [0, 1, 0x7F, 0x80, 0xFF, 0x22, 0x5C, 0x7B, 0x7D, 0x5B, 0x5D, 0x2C, 0x3A, 0x0A, 0x2D, 0x2E]
    static let words: [UInt32] = [0, 1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF, 0x1_0000, 0x7F80_0000, 0x7FC0_0000, 8, 0x112]

    /// One input: a seed (chosen by the stream) with 1-4 stacked mutations, at most `maxLength` bytes.
    static func input(seeds: [[UInt8]], rng: inout FuzzRNG, maxLength: Int) -> [UInt8] {
        var data = seeds[rng.below(seeds.count)]
        let n = 1 + rng.below(4)
        for _ in 0..<n { mutate(&data, seeds: seeds, rng: &rng, maxLength: maxLength) }
        if data.count > maxLength { data.removeLast(data.count - maxLength) }
        return data
    }

    static func mutate(_ d: inout [UInt8], seeds: [[UInt8]], rng: inout FuzzRNG, maxLength: Int) {
        let op = rng.below(10)
        let pos = rng.below(d.count + 1)   // 0...count
        switch op {
        case 0:   // bit flip
            if pos < d.count { d[pos] ^= UInt8(1) << UInt8(rng.below(8)) }
        case 1:   // interesting byte
            if pos < d.count { d[pos] = bytes[rng.below(bytes.count)] }
        case 2:   // insert 1-8 random bytes
            let k = 1 + rng.below(8)
            d.insert(contentsOf: (0..<k).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: pos)
        case 3:   // delete 1-16 bytes
            let k = min(1 + rng.below(16), d.count - pos)
            if k > 0 { d.removeSubrange(pos..<(pos + k)) }
        case 4:   // truncate
            d.removeSubrange(pos..<d.count)
        case 5:   // duplicate a chunk somewhere else
            guard !d.isEmpty else { return }
            let from = rng.below(d.count), k = min(1 + rng.below(64), d.count - from)
            let chunk = Array(d[from..<(from + k)])
            d.insert(contentsOf: chunk, at: rng.below(d.count + 1))
        case 6:   // splice: our head, another seed's tail
            let other = seeds[rng.below(seeds.count)]
            let cut = rng.below(other.count + 1)
            d = Array(d[0..<pos]) + other[cut...]
        case 7:   // 32-bit integer, either byte order
            guard d.count >= 4 else { return }
            let at = rng.below(d.count - 3), w = words[rng.below(words.count)]
            let le = rng.below(2) == 0
            for k in 0..<4 { d[at + k] = UInt8(truncatingIfNeeded: w >> UInt32(8 * (le ? k : 3 - k))) }
        case 8:   // JSON-aware: replace the value token at or after pos
            if let r = tokenRange(d, from: pos) {
                d.replaceSubrange(r, with: Array(jsonTokens[rng.below(jsonTokens.count)].utf8))
            }
        default:  // JSON-aware: duplicate a token (repeats keys, members, elements)
            if let r = tokenRange(d, from: pos) {
                d.insert(contentsOf: Array(d[r]) + Array(", ".utf8), at: r.lowerBound)
            }
        }
        if d.count > 2 * maxLength { d.removeLast(d.count - 2 * maxLength) }
    }

    /// The first JSON token starting at or after `from`: a string (with its escapes), a number,
    /// a literal, or a whole bracketed value; nil when there is none.
    static func tokenRange(_ d: [UInt8], from: Int) -> Range<Int>? {
        var i = from
        while i < d.count {
            let c = d[i]
            if c == 0x22 {   // "
                var j = i + 1
                while j < d.count, d[j] != 0x22 { j += d[j] == 0x5C ? 2 : 1 }
                return i..<min(j + 1, d.count)
            }
            if c == 0x2D || (0x30...0x39).contains(c) {
                var j = i + 1
                while j < d.count, (0x30...0x39).contains(d[j]) || [0x2B, 0x2D, 0x2E, 0x45, 0x65].contains(d[j]) { j += 1 }
                return i..<j
            }
            if [0x74, 0x66, 0x6E].contains(c) {   // t f n
                var j = i + 1
                while j < d.count, (0x61...0x7A).contains(d[j]) { j += 1 }
                return i..<j
            }
            if c == 0x5B || c == 0x7B {   // [ {
                var depth = 0, j = i, inString = false
                while j < d.count {
                    let x = d[j]
                    if inString {
                        if x == 0x5C { j += 1 } else if x == 0x22 { inString = false }
                    } else if x == 0x22 {
                        inString = true
                    } else if x == 0x5B || x == 0x7B {
                        depth += 1
                    } else if x == 0x5D || x == 0x7D {
                        depth -= 1
                        if depth == 0 { return i..<(j + 1) }
                    }
                    j += 1
                }
                return i..<d.count
            }
            i += 1
        }
        return nil
    }
}

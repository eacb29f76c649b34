/// Used by `OrientationSource` for compressed PNG text chunks (zTXt, iTXt) and by the tests'
/// PNG decoder. Ours because NHCore is Foundation-only and Linux Foundation has no zlib API.
/// zlib / DEFLATE (RFC 1950/1951) decompression, after zlib's `puff.c`: clarity over speed.
/// `package`: visible to this package's test support, not to apps.
package enum Inflate {
    struct Failure: Error, CustomStringConvertible { let description: String }

    /// `maxOutput`: a stream inflating to more bytes fails (a decompression bomb in a PNG text
    /// chunk must not exhaust memory; OrientationSource passes its cap).
    package static func zlib(_ data: [UInt8], maxOutput: Int = Int.max) throws -> [UInt8] {
        guard data.count >= 6 else { throw Failure(description: "zlib stream too short") }
        let cmf = Int(data[0]), flg = Int(data[1])
        guard cmf & 0x0f == 8, (cmf << 8 | flg) % 31 == 0, flg & 0x20 == 0 else { throw Failure(description: "bad zlib header") }
        var s = State(input: data, pos: 2)
        s.limit = maxOutput
        try s.inflate()
        let end = s.pos
        guard end + 4 <= data.count else { throw Failure(description: "missing adler32") }
        let expected = UInt32(data[end]) << 24 | UInt32(data[end + 1]) << 16 | UInt32(data[end + 2]) << 8 | UInt32(data[end + 3])
        guard adler32(s.out) == expected else { throw Failure(description: "adler32 mismatch") }
        return s.out
    }

    static func adler32(_ d: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        d.withUnsafeBufferPointer { p in
            var i = 0
            while i < p.count {
                let end = min(i + 5552, p.count)   // no overflow before the modulo
                while i < end { a &+= UInt32(p[i]); b &+= a; i += 1 }
                a %= 65521; b %= 65521
            }
        }
        return b << 16 | a
    }

    struct Huffman {
        var count = [Int](repeating: 0, count: 16)
        var symbol: [Int]
        init(lengths: [Int]) throws {
            symbol = [Int](repeating: 0, count: lengths.count)
            for l in lengths { count[l] += 1 }
            count[0] = 0
            var offs = [Int](repeating: 0, count: 16)
            for l in 1..<15 { offs[l + 1] = offs[l] + count[l] }
            for (sym, l) in lengths.enumerated() where l != 0 {
                symbol[offs[l]] = sym
                offs[l] += 1
            }
        }
    }

    static let lbase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lext = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let dbase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
                        4097, 6145, 8193, 12289, 16385, 24577]
    static let dext = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    struct State {
        let input: [UInt8]
        var pos: Int
        var bitBuf = 0
        var bitCnt = 0
        var out: [UInt8] = []
        var limit = Int.max

        init(input: [UInt8], pos: Int) { self.input = input; self.pos = pos }

        mutating func bits(_ need: Int) throws -> Int {
            var val = bitBuf
            while bitCnt < need {
                guard pos < input.count else { throw Failure(description: "truncated deflate stream") }
                val |= Int(input[pos]) << bitCnt
                pos += 1
                bitCnt += 8
            }
            bitBuf = val >> need
            bitCnt -= need
            return val & ((1 << need) - 1)
        }

        mutating func decode(_ h: Huffman) throws -> Int {
            var code = 0, first = 0, index = 0
            for len in 1...15 {
                code |= try bits(1)
                let count = h.count[len]
                if code - count < first { return h.symbol[index + (code - first)] }
                index += count
                first += count
                first <<= 1
                code <<= 1
            }
            throw Failure(description: "bad Huffman code")
        }

        mutating func inflate() throws {
            var last = 0
            repeat {
                last = try bits(1)
                switch try bits(2) {
                case 0:
                    bitBuf = 0; bitCnt = 0
                    guard pos + 4 <= input.count else { throw Failure(description: "truncated stored block") }
                    let len = Int(input[pos]) | Int(input[pos + 1]) << 8
                    let nlen = Int(input[pos + 2]) | Int(input[pos + 3]) << 8
                    guard len == (~nlen & 0xffff) else { throw Failure(description: "stored block length mismatch") }
                    pos += 4
                    guard pos + len <= input.count else { throw Failure(description: "truncated stored block") }
                    out += input[pos..<(pos + len)]
                    guard out.count <= limit else { throw Failure(description: "inflates to more than \(limit) bytes") }
                    pos += len
                case 1:
                    var l = [Int](repeating: 8, count: 288)
                    for i in 144..<256 { l[i] = 9 }
                    for i in 256..<280 { l[i] = 7 }
                    try codes(Huffman(lengths: l), Huffman(lengths: [Int](repeating: 5, count: 30)))
                case 2:
                    let nlen = try bits(5) + 257, ndist = try bits(5) + 1, ncode = try bits(4) + 4
                    let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
                    var cl = [Int](repeating: 0, count: 19)
                    for i in 0..<ncode { cl[order[i]] = try bits(3) }
                    let lencode = try Huffman(lengths: cl)
                    var lengths: [Int] = []
                    while lengths.count < nlen + ndist {
                        let sym = try decode(lencode)
                        if sym < 16 { lengths.append(sym); continue }
                        var rep = 0, val = 0
                        if sym == 16 {
                            guard let prev = lengths.last else { throw Failure(description: "repeat with no previous length") }
                            val = prev; rep = 3 + (try bits(2))
                        } else if sym == 17 { rep = 3 + (try bits(3)) } else { rep = 11 + (try bits(7)) }
                        guard lengths.count + rep <= nlen + ndist else { throw Failure(description: "too many lengths") }
                        lengths += [Int](repeating: val, count: rep)
                    }
                    try codes(Huffman(lengths: Array(lengths[0..<nlen])), Huffman(lengths: Array(lengths[nlen...])))
                default:
                    throw Failure(description: "invalid block type")
                }
            } while last == 0
        }

        mutating func codes(_ lencode: Huffman, _ distcode: Huffman) throws {
            while true {
                guard out.count <= limit else { throw Failure(description: "inflates to more than \(limit) bytes") }
                let sym = try decode(lencode)
                if sym < 256 { out.append(UInt8(sym)); continue }
                if sym == 256 { return }
                let li = sym - 257
                guard li < 29 else { throw Failure(description: "bad length symbol") }
                let len = Inflate.lbase[li] + (try bits(Inflate.lext[li]))
                let di = try decode(distcode)
                guard di < 30 else { throw Failure(description: "bad distance symbol") }
                let dist = Inflate.dbase[di] + (try bits(Inflate.dext[di]))
                guard dist <= out.count else { throw Failure(description: "distance too far back") }
                let start = out.count - dist
                for k in 0..<len { out.append(out[start + k]) }
            }
        }
    }
}

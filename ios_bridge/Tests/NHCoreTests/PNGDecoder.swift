import Foundation
@testable import NHCore

/// A small, strict PNG decoder for the Linux tests only (NHKit uses ImageIO on Apple platforms):
/// spec step 1 for non-interlaced PNGs in the modes the self-test cases use, so stage digests
/// `decoded` -> `resized` -> `tensor` can be checked end to end where ImageIO does not exist.
/// Modes: grey 1/8/16-bit, grey+alpha 8/16, RGB 8/16, RGBA 8/16, palette 1/2/4/8 (alpha, gamma
/// and colour chunks ignored, as the spec says). The EXIF orientation comes from an `eXIf` chunk.
struct TestPNGDecoder: ImageFileDecoding {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    func decode(contentsOf url: URL, maxPixels: Int) throws -> DecodedImage {
        let bytes = [UInt8](try Data(contentsOf: url))
        do {
            return try Self.decode(bytes, maxPixels: maxPixels)
        } catch let f as Failure {
            throw NHError.imageDecode(path: url.path, reason: f.description)
        }
    }

    static func decode(_ b: [UInt8], maxPixels: Int = DecodeLimits.defaultMaxPixels) throws -> DecodedImage {
        guard !b.isEmpty else { throw Failure(description: "empty file") }
        guard b.count >= 8, b[0..<8].elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else {
            throw Failure(description: "not a PNG (the test decoder reads PNG only)")
        }
        var pos = 8
        var width = 0, height = 0, depth = 0, colorType = -1
        var palette: [UInt8] = []
        var idat: [UInt8] = []
        var orientation: Int?
        func be32(_ i: Int) -> Int { Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3]) }
        var sawEnd = false
        while pos + 8 <= b.count {
            let len = be32(pos)
            let type = String(decoding: b[(pos + 4)..<(pos + 8)], as: UTF8.self)
            let start = pos + 8
            guard len >= 0, start + len + 4 <= b.count else { throw Failure(description: "truncated \(type) chunk") }
            let data = Array(b[start..<(start + len)])
            switch type {
            case "IHDR":
                guard len == 13 else { throw Failure(description: "bad IHDR") }
                width = be32(start); height = be32(start + 4)
                depth = Int(data[8]); colorType = Int(data[9])
                guard data[10] == 0, data[11] == 0 else { throw Failure(description: "unknown compression or filter method") }
                guard data[12] == 0 else { throw Failure(description: "interlaced PNG (not supported by the test decoder)") }
                guard width > 0, height > 0 else { throw Failure(description: "zero size") }
                guard width * height <= maxPixels else {
                    throw Failure(description: "\(width)x\(height) = \(width * height) pixels exceeds the limit of \(maxPixels)")
                }
            case "PLTE": palette = data
            case "IDAT": idat += data
            case "eXIf": orientation = exifOrientation(data)
            case "IEND": sawEnd = true
            default: break
            }
            pos = start + len + 4
            if sawEnd { break }
        }
        guard colorType >= 0 else { throw Failure(description: "no IHDR chunk") }
        guard sawEnd else { throw Failure(description: "truncated PNG (no IEND)") }
        let channels: Int
        switch (colorType, depth) {
        case (0, 1), (0, 8), (0, 16): channels = 1
        case (2, 8), (2, 16): channels = 3
        case (3, 1), (3, 2), (3, 4), (3, 8): channels = 1
        case (4, 8), (4, 16): channels = 2
        case (6, 8), (6, 16): channels = 4
        default: throw Failure(description: "unsupported mode: colour type \(colorType), bit depth \(depth)")
        }
        let raw = try Inflate.zlib(idat)
        let bitsPerPixel = channels * depth
        let rowBytes = (width * bitsPerPixel + 7) / 8
        let bpp = max(1, bitsPerPixel / 8)
        guard raw.count >= height * (rowBytes + 1) else { throw Failure(description: "truncated image data") }
        var prev = [UInt8](repeating: 0, count: rowBytes)
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            let off = y * (rowBytes + 1)
            var cur = Array(raw[(off + 1)..<(off + 1 + rowBytes)])
            try unfilter(Int(raw[off]), &cur, prev, bpp)
            if depth == 8 && (colorType == 2 || colorType == 6 || colorType == 0) {
                let base = y * width * 3
                cur.withUnsafeBufferPointer { c in
                    var x = 0
                    while x < width {
                        let o = base + x * 3, i = x * channels
                        if channels >= 3 {
                            rgb[o] = c[i]; rgb[o + 1] = c[i + 1]; rgb[o + 2] = c[i + 2]
                        } else {
                            rgb[o] = c[i]; rgb[o + 1] = c[i]; rgb[o + 2] = c[i]
                        }
                        x += 1
                    }
                }
                prev = cur
                continue
            }
            for x in 0..<width {
                let o = (y * width + x) * 3
                func sample(_ c: Int) -> UInt8 {   // 8-bit sample; 16-bit -> high byte
                    depth == 16 ? cur[(x * channels + c) * 2] : cur[x * channels + c]
                }
                switch colorType {
                case 0 where depth == 1:
                    let v: UInt8 = (cur[x / 8] >> (7 - UInt8(x % 8))) & 1 == 1 ? 255 : 0
                    rgb[o] = v; rgb[o + 1] = v; rgb[o + 2] = v
                case 0, 4:
                    let v = sample(0)
                    rgb[o] = v; rgb[o + 1] = v; rgb[o + 2] = v
                case 2, 6:
                    rgb[o] = sample(0); rgb[o + 1] = sample(1); rgb[o + 2] = sample(2)
                case 3:
                    let perByte = 8 / depth
                    let shift = UInt8(8 - depth * (x % perByte + 1))
                    let idx = Int((cur[x / perByte] >> shift) & UInt8((1 << depth) - 1))
                    guard 3 * idx + 2 < palette.count else { throw Failure(description: "palette index \(idx) out of range") }
                    rgb[o] = palette[3 * idx]; rgb[o + 1] = palette[3 * idx + 1]; rgb[o + 2] = palette[3 * idx + 2]
                default: break
                }
            }
            prev = cur
        }
        return DecodedImage(image: try RGB8Image(width: width, height: height, pixels: rgb), orientation: orientation)
    }

    static func unfilter(_ filter: Int, _ cur: inout [UInt8], _ prev: [UInt8], _ bpp: Int) throws {
        switch filter {
        case 0: break
        case 1: for i in bpp..<max(bpp, cur.count) { cur[i] = cur[i] &+ cur[i - bpp] }
        case 2: for i in 0..<cur.count { cur[i] = cur[i] &+ prev[i] }
        case 3:
            for i in 0..<cur.count {
                let left = i >= bpp ? Int(cur[i - bpp]) : 0
                cur[i] = cur[i] &+ UInt8((left + Int(prev[i])) / 2)
            }
        case 4:
            for i in 0..<cur.count {
                let a = i >= bpp ? Int(cur[i - bpp]) : 0, b = Int(prev[i]), c = i >= bpp ? Int(prev[i - bpp]) : 0
                let p = a + b - c
                let pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                let pred = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c)
                cur[i] = cur[i] &+ UInt8(pred)
            }
        default: throw Failure(description: "unknown filter type \(filter)")
        }
    }

    /// The Orientation tag (0x0112) of IFD0 in a TIFF-structured EXIF block; nil when absent.
    static func exifOrientation(_ d: [UInt8]) -> Int? {
        guard d.count >= 8 else { return nil }
        let little: Bool
        if d[0] == 0x49 && d[1] == 0x49 { little = true } else if d[0] == 0x4D && d[1] == 0x4D { little = false } else { return nil }
        func u16(_ i: Int) -> Int? {
            guard i + 2 <= d.count else { return nil }
            return little ? Int(d[i]) | Int(d[i + 1]) << 8 : Int(d[i]) << 8 | Int(d[i + 1])
        }
        func u32(_ i: Int) -> Int? {
            guard let lo = u16(little ? i : i + 2), let hi = u16(little ? i + 2 : i) else { return nil }
            return hi << 16 | lo
        }
        guard let ifd = u32(4), let n = u16(ifd) else { return nil }
        for k in 0..<n {
            let e = ifd + 2 + 12 * k
            guard let tag = u16(e), let type = u16(e + 2) else { return nil }
            if tag == 0x0112 && type == 3 { return u16(e + 8) }
        }
        return nil
    }
}

/// zlib / DEFLATE (RFC 1950/1951) decompression, after zlib's `puff.c`: clarity over speed.
enum Inflate {
    struct Failure: Error, CustomStringConvertible { let description: String }

    static func zlib(_ data: [UInt8]) throws -> [UInt8] {
        guard data.count >= 6 else { throw Failure(description: "zlib stream too short") }
        let cmf = Int(data[0]), flg = Int(data[1])
        guard cmf & 0x0f == 8, (cmf << 8 | flg) % 31 == 0, flg & 0x20 == 0 else { throw Failure(description: "bad zlib header") }
        var s = State(input: data, pos: 2)
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

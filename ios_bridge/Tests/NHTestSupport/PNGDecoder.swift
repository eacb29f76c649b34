import Foundation
import NHCore

/// A small, strict PNG decoder for the Linux tests only (NHKit uses ImageIO on Apple platforms):
/// spec step 1 for non-interlaced PNGs in every PNG mode of the spec's table, so stage digests
/// `decoded` -> `resized` -> `tensor` can be checked end to end where ImageIO does not exist.
/// Modes: grey 1/2/4/8/16-bit (1-bit: 0/255; 2/4-bit scaled, v * 255 / (2^d - 1)), grey+alpha
/// 8/16, RGB 8/16, RGBA 8/16 (16-bit: the high byte), palette 1/2/4/8 (an index past the
/// palette's end gives (0,0,0); tRNS, alpha, gamma and colour chunks ignored, as the spec says).
/// The orientation tag comes from NHCore's `OrientationSource` (spec step 2's PNG sources), as
/// on a device. Checked on tests/decode_modes/ (DecodeModesTests).
public struct TestPNGDecoder: ImageFileDecoding {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public init() {}

    public func decode(contentsOf url: URL, maxPixels: Int) throws -> DecodedImage {
        let bytes = [UInt8](try Data(contentsOf: url))
        do {
            return try Self.decode(bytes, maxPixels: maxPixels)
        } catch let f as Failure {
            throw NHError.imageDecode(path: url.path, reason: f.description)
        }
    }

    public static func decode(_ b: [UInt8], maxPixels: Int = DecodeLimits.defaultMaxPixels) throws -> DecodedImage {
        guard !b.isEmpty else { throw Failure(description: "empty file") }
        guard b.count >= 8, b[0..<8].elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else {
            throw Failure(description: "not a PNG (the test decoder reads PNG only)")
        }
        var pos = 8
        var width = 0, height = 0, depth = 0, colorType = -1
        var palette: [UInt8] = []
        var idat: [UInt8] = []
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
        case (0, 1), (0, 2), (0, 4), (0, 8), (0, 16): channels = 1
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
                case 0 where depth < 8:
                    // 1/2/4-bit grey, most significant bits first, scaled to 8 bits.
                    let perByte = 8 / depth
                    let shift = UInt8(8 - depth * (x % perByte + 1))
                    let raw = Int((cur[x / perByte] >> shift) & UInt8((1 << depth) - 1))
                    let v = UInt8(raw * 255 / ((1 << depth) - 1))
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
                    if 3 * idx + 2 < palette.count {   // else (0,0,0): an index past the palette's end
                        rgb[o] = palette[3 * idx]; rgb[o + 1] = palette[3 * idx + 1]; rgb[o + 2] = palette[3 * idx + 2]
                    }
                default: break
                }
            }
            prev = cur
        }
        return DecodedImage(image: try RGB8Image(width: width, height: height, pixels: rgb), orientation: OrientationSource.tag(in: b))
    }

    public static func unfilter(_ filter: Int, _ cur: inout [UInt8], _ prev: [UInt8], _ bpp: Int) throws {
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
}

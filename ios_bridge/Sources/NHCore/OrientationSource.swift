/// Spec step 2, where the orientation tag comes from: the JPEG and PNG metadata nh-spec-v1
/// section 2 names (EXIF in JPEG APP1, PNG `eXIf` or "Raw profile type exif" text; else XMP
/// `tiff:Orientation`), read from the file bytes. Ours, not ImageIO's
/// `kCGImagePropertyOrientation`, because which of these sources ImageIO reads is not documented
/// and varies by OS version; a 90-degree difference changes the whole hash. The same rules are in
/// Python (`runtime/orientation_source.py`) and Java (`OrientationSource`), all checked on
/// `tests/decode_fixtures/`. Unreadable metadata means "no tag", never an error.
public enum OrientationSource {
    /// Whether the spec's byte-level rules cover this file (JPEG or PNG); for other formats the
    /// platform decoder's EXIF reading is used.
    public static func covers(_ b: [UInt8]) -> Bool {
        isJPEG(b) || isPNG(b)
    }

    /// The raw tag value (not yet limited to 1..8), nil when the file has none or is not JPEG/PNG.
    public static func tag(in b: [UInt8]) -> Int? {
        let exif: [UInt8]?, xmp: [UInt8]?
        if isJPEG(b) {
            (exif, xmp) = jpegMetadata(b)
        } else if isPNG(b) {
            (exif, xmp) = pngMetadata(b)
        } else {
            return nil
        }
        if let e = exif, let t = exifOrientation(e) { return t }
        if let x = xmp { return xmpOrientation(x) }
        return nil
    }

    /// nh-spec-v1 section 2: a compressed text chunk inflating to more than this is unreadable
    /// (no tag from it). Without the cap a 0.5 MB PNG whose zTXt inflates to 512 MiB needed
    /// 512 MiB here (found by the bridges' fuzzing review; Java threw OutOfMemoryError).
    static let maxInflatedText = 1 << 20

    static let exifPrefix: [UInt8] = Array("Exif\0\0".utf8)
    static let xmpPrefix: [UInt8] = Array("http://ns.adobe.com/xap/1.0/\0".utf8)

    static func isJPEG(_ b: [UInt8]) -> Bool { b.count >= 2 && b[0] == 0xFF && b[1] == 0xD8 }
    static func isPNG(_ b: [UInt8]) -> Bool {
        b.count >= 8 && b[0..<8].elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    }

    static func hasPrefix(_ s: ArraySlice<UInt8>, _ p: [UInt8]) -> Bool {
        s.count >= p.count && s.prefix(p.count).elementsEqual(p)
    }

    /// APP1 segments before the first SOS: every EXIF payload (concatenated), the last XMP.
    static func jpegMetadata(_ b: [UInt8]) -> ([UInt8]?, [UInt8]?) {
        var exif: [UInt8]?, xmp: [UInt8]?
        var pos = 2
        let n = b.count
        while pos + 4 <= n {
            guard b[pos] == 0xFF else { break }
            let marker = b[pos + 1]
            if marker == 0xFF { pos += 1; continue }                       // fill byte
            if marker == 0xD8 || marker == 0x01 || (0xD0...0xD7).contains(marker) { pos += 2; continue }
            if marker == 0xDA || marker == 0xD9 { break }                   // SOS, EOI
            let length = Int(b[pos + 2]) << 8 | Int(b[pos + 3])
            guard length >= 2, pos + 2 + length <= n else { break }
            let payload = b[(pos + 4)..<(pos + 2 + length)]
            if marker == 0xE1 {
                if hasPrefix(payload, exifPrefix) {
                    if exif == nil { exif = Array(payload) } else { exif! += payload.dropFirst(6) }
                } else if hasPrefix(payload, xmpPrefix) {
                    xmp = Array(payload.dropFirst(xmpPrefix.count))
                }
            }
            pos += 2 + length
        }
        return (exif, xmp)
    }

    /// Every chunk up to IEND: the last eXIf, else the last raw-profile text; the last XMP text.
    static func pngMetadata(_ b: [UInt8]) -> ([UInt8]?, [UInt8]?) {
        var exif: [UInt8]?, rawProfile: [UInt8]?, xmp: [UInt8]?
        var pos = 8
        let n = b.count
        while pos + 8 <= n {
            let length = Int(b[pos]) << 24 | Int(b[pos + 1]) << 16 | Int(b[pos + 2]) << 8 | Int(b[pos + 3])
            let type = String(decoding: b[(pos + 4)..<(pos + 8)], as: UTF8.self)
            guard pos + 8 + length <= n else { break }
            let body = b[(pos + 8)..<(pos + 8 + length)]
            pos += 12 + length
            if type == "IEND" { break }
            if type == "eXIf" {
                exif = exifPrefix + body
            } else if type == "tEXt" || type == "zTXt" || type == "iTXt", let (key, value) = pngText(type, body) {
                if key == "Raw profile type exif" { rawProfile = value } else if key == "XML:com.adobe.xmp" { xmp = value }
            }
        }
        if exif == nil, let r = rawProfile { exif = rawProfileBytes(r) }
        return (exif, xmp)
    }

    /// (keyword, text bytes) of a tEXt, zTXt or iTXt chunk; nil if malformed.
    static func pngText(_ type: String, _ body: ArraySlice<UInt8>) -> (String, [UInt8])? {
        let zero = body.firstIndex(of: 0)
        if zero == nil && type != "tEXt" { return nil }
        let key = String(decoding: body[body.startIndex..<(zero ?? body.endIndex)], as: UTF8.self)
        let rest = zero.map { body[($0 + 1)...] } ?? body[body.endIndex...]
        switch type {
        case "tEXt":
            return (key, Array(rest))
        case "zTXt":
            guard let method = rest.first, method == 0, let text = try? Inflate.zlib(Array(rest.dropFirst()), maxOutput: maxInflatedText) else { return nil }
            return (key, text)
        default: // iTXt: flag, method, language\0, translated keyword\0, text
            guard rest.count >= 2 else { return nil }
            let flag = rest[rest.startIndex], method = rest[rest.startIndex + 1]
            var tail = rest.dropFirst(2)
            for _ in 0..<2 {
                guard let z = tail.firstIndex(of: 0) else { return nil }
                tail = tail[(z + 1)...]
            }
            if flag == 0 { return (key, Array(tail)) }
            guard method == 0, let text = try? Inflate.zlib(Array(tail), maxOutput: maxInflatedText) else { return nil }
            return (key, text)
        }
    }

    /// ImageMagick's "Raw profile type exif": lines 4 on of the text are hex
    /// (ASCII whitespace allowed between two-digit pairs, as Python's `bytes.fromhex`).
    static func rawProfileBytes(_ text: [UInt8]) -> [UInt8]? {
        let lines = text.split(separator: 0x0A, omittingEmptySubsequences: false)
        guard lines.count > 3 else { return [] }
        var out: [UInt8] = []
        var high: UInt8?
        for line in lines[3...] {
            for c in line {
                if c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0B || c == 0x0C {
                    if high != nil { return nil }                // only between pairs (Python's fromhex)
                    continue
                }
                let v: UInt8
                switch c {
                case 0x30...0x39: v = c - 0x30
                case 0x61...0x66: v = c - 0x61 + 10
                case 0x41...0x46: v = c - 0x41 + 10
                default: return nil
                }
                if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
            }
        }
        return high == nil ? out : nil
    }

    /// Tag 0x0112 of IFD0 of a TIFF-structured EXIF block (after one or two "Exif\0\0").
    static func exifOrientation(_ block0: [UInt8]) -> Int? {
        var block = block0[...]
        for _ in 0..<2 where hasPrefix(block, exifPrefix) { block = block.dropFirst(6) }
        let d = Array(block)
        guard d.count >= 8 else { return nil }
        let little: Bool
        if d[0..<4].elementsEqual([0x49, 0x49, 0x2A, 0x00]) { little = true }
        else if d[0..<4].elementsEqual([0x4D, 0x4D, 0x00, 0x2A]) { little = false }
        else { return nil }
        func u(_ i: Int, _ size: Int) -> Int {
            var v = 0
            for k in 0..<size { v |= Int(d[i + (little ? k : size - 1 - k)]) << (8 * k) }
            return v
        }
        let ifd = u(4, 4)
        guard ifd + 2 <= d.count else { return nil }
        let count = u(ifd, 2)
        guard ifd + 2 + 12 * count <= d.count else { return nil }
        for i in 0..<count {
            let e = ifd + 2 + 12 * i
            guard u(e, 2) == 0x0112 else { continue }
            let type = u(e + 2, 2), n = u(e + 4, 4)
            if n == 0 { return nil }
            let size: Int
            switch type {
            case 3, 8: size = 2
            case 4, 9: size = 4
            default: return 0                                // not an integer type: means 1
            }
            var at = e + 8
            if n * size > 4 {
                at = u(e + 8, 4)
                guard at + size <= d.count else { return nil }
            }
            let v = u(at, size)
            switch type {
            case 8: return Int(Int16(truncatingIfNeeded: v))
            case 9: return Int(Int32(truncatingIfNeeded: v))
            default: return v
            }
        }
        return nil
    }

    /// The digit of the first `tiff:Orientation="d` or `tiff:Orientation>d` in an XMP packet.
    static func xmpOrientation(_ x: [UInt8]) -> Int? {
        let key: [UInt8] = Array("tiff:Orientation".utf8)
        var i = 0
        while i + key.count + 2 <= x.count {
            if x[i] == key[0] && x[i..<(i + key.count)].elementsEqual(key) {
                let j = i + key.count
                if x[j] == 0x3D, j + 2 < x.count, x[j + 1] == 0x22, (0x30...0x39).contains(x[j + 2]) {
                    return Int(x[j + 2] - 0x30)
                }
                if x[j] == 0x3E, (0x30...0x39).contains(x[j + 1]) { return Int(x[j + 1] - 0x30) }
            }
            i += 1
        }
        return nil
    }
}

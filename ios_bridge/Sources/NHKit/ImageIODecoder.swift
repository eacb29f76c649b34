#if canImport(ImageIO) && canImport(CoreGraphics)
import CoreGraphics
import Foundation
import ImageIO
import NHCore

/// Spec step 1 with ImageIO: an image file -> its stored 8-bit samples as RGB8, plus the
/// orientation tag (spec step 2's sources, via NHCore's `OrientationSource` for JPEG and PNG).
///
/// Why the samples are read straight from the decoded image's data provider instead of drawing
/// the CGImage into a bitmap context:
/// - the spec ignores ICC profiles and all colour metadata. Drawing converts from the image's
///   colour space to the context's (colour matching), and a grey or indexed image can only be
///   drawn into an RGB context through such a conversion;
/// - a CGBitmapContext supports only premultiplied or skipped alpha, so drawing an RGBA image
///   composites it and changes the colour of every translucent pixel, while the spec keeps the
///   stored colour values and drops alpha;
/// - drawing a 16-bit image into an 8-bit context rounds (v * 255 / 65535), while the spec
///   (Pillow) takes the high byte.
/// Reading the provider's bytes avoids all three: it sees exactly what the codec decoded, in the
/// layout CGImage describes (bits per component and pixel, bytes per row, alpha position, byte
/// order, colour model), and NHCore-style code converts each supported layout exactly.
/// Supported: 8/16-bit grey, grey+alpha, RGB, RGBA/ARGB/RGBX (any byte order), 1-bit grey,
/// 8-bit indexed over RGB, 8-bit CMYK (Pillow's integer cmyk2rgb). Anything else (floating
/// point, Lab, ...) is rejected with an error naming the file and the layout, as the spec says.
/// Premultiplied alpha (which ImageIO does not produce for PNG, but may for other formats) is
/// un-premultiplied with rounding (`Alpha`); only pixels with alpha < 255 can then differ from
/// Pillow, and the decoder says so in `DecodedImage.note` (the report's `extra.note`), as it does
/// for transparent GIF pixels, whose palette colour ImageIO may not keep.
public struct ImageIODecoder: ImageFileDecoding, Sendable {
    public init() {}

    public func decode(contentsOf url: URL, maxPixels: Int = DecodeLimits.defaultMaxPixels) throws -> DecodedImage {
        // The bytes are read once: ImageIO decodes them and OrientationSource reads the spec's
        // orientation metadata from them.
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw NHError.imageDecode(path: url.path, reason: "cannot read the file: \(error.localizedDescription)")
        }
        return try decode(data: data, name: url.path, maxPixels: maxPixels)
    }

    /// Decodes image file bytes (e.g. from the Photos library's original data).
    public func decode(data: Data, name: String = "<data>", maxPixels: Int = DecodeLimits.defaultMaxPixels) throws -> DecodedImage {
        if data.isEmpty { throw NHError.imageDecode(path: name, reason: "empty file") }
        guard let source = CGImageSourceCreateWithData(data as CFData, [kCGImageSourceShouldCache: false] as CFDictionary) else {
            throw NHError.imageDecode(path: name, reason: "not an image or unknown format")
        }
        return try decode(source: source, bytes: [UInt8](data), name: name, maxPixels: maxPixels)
    }

    func decode(source: CGImageSource, bytes: [UInt8], name: String, maxPixels: Int) throws -> DecodedImage {
        guard CGImageSourceGetType(source) != nil, CGImageSourceGetCount(source) > 0 else {
            throw NHError.imageDecode(path: name, reason: "not an image or unknown format")
        }
        // Dimensions from the header, before any pixel is decoded (decompression-bomb guard).
        let props = CGImageSourceCopyPropertiesAtIndex(source, 0, nil) as? [CFString: Any] ?? [:]
        guard let w = (props[kCGImagePropertyPixelWidth] as? NSNumber)?.intValue,
              let h = (props[kCGImagePropertyPixelHeight] as? NSNumber)?.intValue, w > 0, h > 0 else {
            throw NHError.imageDecode(path: name, reason: "not an image, or truncated before its dimensions")
        }
        let (pixels, overflow) = w.multipliedReportingOverflow(by: h)
        guard !overflow, pixels <= maxPixels else {
            throw NHError.imageDecode(path: name, reason: "\(w)x\(h) pixels exceeds the limit of \(maxPixels)")
        }
        // Spec step 2's sources for JPEG and PNG (read from the bytes, as Python and Java do);
        // ImageIO's property only for other formats.
        let orientation = OrientationSource.covers(bytes)
            ? OrientationSource.tag(in: bytes)
            : (props[kCGImagePropertyOrientation] as? NSNumber)?.intValue
        guard CGImageSourceGetStatusAtIndex(source, 0) == .statusComplete else {
            throw NHError.imageDecode(path: name, reason: "truncated or corrupt image data")
        }
        // First frame only; never apply the orientation here (the pipeline does, per the spec).
        let options = [kCGImageSourceShouldCache: false, kCGImageSourceShouldAllowFloat: false] as CFDictionary
        guard let image = CGImageSourceCreateImageAtIndex(source, 0, options) else {
            throw NHError.imageDecode(path: name, reason: "truncated or corrupt image data")
        }
        let (rgb, translucent) = try Self.rgb8AndTranslucentCount(from: image, name: name)
        var notes: [String] = []
        if translucent > 0 { notes.append(Alpha.premultipliedNote(translucentPixels: translucent)) }
        if let type = CGImageSourceGetType(source) as String?, type == "com.compuserve.gif",
           image.alphaInfo != .none, image.alphaInfo != .noneSkipFirst, image.alphaInfo != .noneSkipLast {
            // Pillow keeps a transparent GIF pixel's palette colour; ImageIO gives it as RGBA
            // and its colour may be gone (0) where alpha is 0.
            notes.append("alpha: transparent GIF pixels may have lost their palette colour (ImageIO RGBA)")
        }
        return DecodedImage(image: rgb, orientation: orientation, note: notes.isEmpty ? nil : notes.joined(separator: "; "))
    }

    /// The stored samples of `image` as RGB8, without colour matching (see the type's notes).
    public static func rgb8(from image: CGImage, name: String = "<CGImage>") throws -> RGB8Image {
        try rgb8AndTranslucentCount(from: image, name: name).0
    }

    /// `rgb8(from:)` plus how many premultiplied translucent pixels had to be un-premultiplied
    /// (their colour is an estimate: `Alpha`).
    static func rgb8AndTranslucentCount(from image: CGImage, name: String) throws -> (RGB8Image, Int) {
        func fail(_ reason: String) -> NHError { .imageDecode(path: name, reason: reason) }
        let w = image.width, h = image.height
        let bpc = image.bitsPerComponent, bpp = image.bitsPerPixel, bytesPerRow = image.bytesPerRow
        let info = image.bitmapInfo
        guard !info.contains(.floatComponents) else { throw fail("floating-point samples are not supported (spec step 1)") }
        guard let space = image.colorSpace else { throw fail("image has no colour space (a mask?)") }
        let model = space.model
        let alpha = image.alphaInfo
        let hasAlpha = !(alpha == .none || alpha == .noneSkipFirst || alpha == .noneSkipLast)
        let alphaFirst = alpha == .first || alpha == .premultipliedFirst || alpha == .noneSkipFirst
        let hasSlot = alpha != .none && alpha != .alphaOnly
        let premultiplied = alpha == .premultipliedFirst || alpha == .premultipliedLast
        let colourComponents: Int
        switch model {
        case .monochrome, .indexed: colourComponents = 1
        case .rgb: colourComponents = 3
        case .cmyk: colourComponents = 4
        default: throw fail("unsupported colour model \(model.rawValue) (only grey, RGB, indexed and CMYK are)")
        }
        let components = colourComponents + (hasSlot ? 1 : 0)
        guard bpc == 8 || bpc == 16 || (bpc == 1 && model == .monochrome && components == 1) else {
            throw fail("unsupported \(bpc)-bit samples")
        }
        guard bpp == bpc * components || (bpc == 1 && bpp == 1) else {
            throw fail("unexpected layout: \(bpp) bits per pixel for \(components) components of \(bpc) bits")
        }
        guard let cfData = image.dataProvider?.data else { throw fail("cannot read the decoded samples") }
        let data = cfData as Data
        guard data.count >= bytesPerRow * (h - 1) + (w * bpp + 7) / 8 else { throw fail("decoded data is shorter than its layout") }
        // Byte order: 32-bit little-endian words reverse the byte order of 4x8-bit pixels; for
        // 16-bit components little-endian means the high byte comes second.
        let order = info.intersection(.byteOrderMask)
        let little16 = order == .byteOrder16Little
        let little32 = order == .byteOrder32Little
        var byteIndex = [Int](0..<components)   // memory byte (or 16-bit unit) of logical component i
        if little32 && bpc == 8 && components == 4 { byteIndex = [3, 2, 1, 0] }
        // Logical component positions: alpha first or last.
        let colourOffset = hasSlot && alphaFirst ? 1 : 0
        let alphaSlot = hasSlot ? (alphaFirst ? 0 : colourComponents) : -1

        var palette: [UInt8] = []
        if model == .indexed {
            guard bpc == 8, let base = space.baseColorSpace, base.model == .rgb, let table = space.colorTable else {
                throw fail("unsupported indexed colour space (only 8-bit indices over RGB are)")
            }
            palette = table
        }
        var out = [UInt8](repeating: 0, count: w * h * 3)
        // Fast paths for the common layouts (8-bit RGB/RGBX/RGBA/ARGB/BGRA and grey, no
        // premultiplication): plain byte copies, no per-pixel allocation.
        if bpc == 8 && !(premultiplied && hasAlpha) && (model == .rgb || model == .monochrome) {
            let src = (0..<colourComponents).map { byteIndex[colourOffset + $0] }
            let r = src[0], g = model == .rgb ? src[1] : src[0], b = model == .rgb ? src[2] : src[0]
            data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                out.withUnsafeMutableBufferPointer { dst in
                    let p = raw.bindMemory(to: UInt8.self).baseAddress!, d = dst.baseAddress!
                    for y in 0..<h {
                        var s = p + y * bytesPerRow
                        var o = d + y * w * 3
                        for _ in 0..<w {
                            o[0] = s[r]; o[1] = s[g]; o[2] = s[b]
                            s += components
                            o += 3
                        }
                    }
                }
            }
            return (try RGB8Image(width: w, height: h, pixels: out), 0)
        }
        var translucent = 0
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let p = raw.bindMemory(to: UInt8.self)
            for y in 0..<h {
                let row = y * bytesPerRow
                for x in 0..<w {
                    let o = (y * w + x) * 3
                    if bpc == 1 {
                        let v: UInt8 = (p[row + x / 8] >> (7 - UInt8(x % 8))) & 1 == 1 ? 255 : 0
                        out[o] = v; out[o + 1] = v; out[o + 2] = v
                        continue
                    }
                    let pixel = row + x * components * (bpc / 8)
                    func sample(_ logical: Int) -> UInt8 {
                        let unit = byteIndex[logical]
                        if bpc == 8 { return p[pixel + unit] }
                        return p[pixel + unit * 2 + (little16 ? 1 : 0)]   // 16-bit: the high byte
                    }
                    var c = (0..<colourComponents).map { sample(colourOffset + $0) }
                    if premultiplied && hasAlpha {
                        let a = sample(alphaSlot)
                        if a < 255 {
                            translucent += 1
                            c = c.map { Alpha.unpremultiply($0, alpha: a) }
                        }
                    }
                    switch model {
                    case .monochrome:
                        out[o] = c[0]; out[o + 1] = c[0]; out[o + 2] = c[0]
                    case .indexed:
                        let i = Int(c[0]) * 3
                        if i + 2 < palette.count {   // else (0,0,0): an index past the palette's end (spec step 1)
                            out[o] = palette[i]; out[o + 1] = palette[i + 1]; out[o + 2] = palette[i + 2]
                        }
                    case .cmyk:
                        // Pillow's integer cmyk2rgb: nk = 255 - K; X = nk - ((t + (t >> 8)) >> 8), t = C_x * nk + 128.
                        let nk = 255 - Int(c[3])
                        for k in 0..<3 {
                            let t = Int(c[k]) * nk + 128
                            out[o + k] = UInt8(clamping: nk - ((t + (t >> 8)) >> 8))
                        }
                    default:
                        out[o] = c[0]; out[o + 1] = c[1]; out[o + 2] = c[2]
                    }
                }
            }
        }
        return (try RGB8Image(width: w, height: h, pixels: out), translucent)
    }
}
#endif

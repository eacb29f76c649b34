import Foundation

/// Tensor layouts a model may want. NCHW is canonical (the tensor digest is always over NCHW).
public enum TensorLayout: String, Codable, Sendable {
    case nchw = "NCHW"
    case nhwc = "NHWC"
}

/// Spec step 4: each sample v becomes `((Float(v) / 255) * 2) - 1` in binary32, each operation
/// rounded. The 256 possible results are tabulated once; the table *is* that arithmetic.
public enum Normalise {
    public static let table: [Float] = (0..<256).map { (v: Int) -> Float in
        let f = Float(v)
        let q = f / Float(255)
        let m = q * Float(2)
        return m - Float(1)
    }

    /// Canonical `[1, 3, H, W]` float32 (channel R, G, B).
    public static func nchw(_ image: RGB8Image) -> [Float] {
        let n = image.width * image.height
        var out = [Float](repeating: 0, count: n * 3)
        table.withUnsafeBufferPointer { t in
        image.pixels.withUnsafeBufferPointer { s in
        out.withUnsafeMutableBufferPointer { d in
            for i in 0..<n {
                d[i] = t[Int(s[3 * i])]
                d[n + i] = t[Int(s[3 * i + 1])]
                d[2 * n + i] = t[Int(s[3 * i + 2])]
            }
        }}}
        return out
    }

    /// `[1, H, W, 3]` float32: the same values in pixel order.
    public static func nhwc(_ image: RGB8Image) -> [Float] {
        table.withUnsafeBufferPointer { t in image.pixels.map { t[Int($0)] } }
    }

    public static func tensor(_ image: RGB8Image, layout: TensorLayout) -> [Float] {
        layout == .nchw ? nchw(image) : nhwc(image)
    }

    /// Permutes a canonical NCHW tensor of `height` x `width` to NHWC (values unchanged).
    public static func nchwToNHWC(_ t: [Float], height: Int, width: Int) -> [Float] {
        let n = height * width
        precondition(t.count == 3 * n, "tensor has \(t.count) values, expected 3x\(height)x\(width)")
        var out = [Float](repeating: 0, count: 3 * n)
        for i in 0..<n {
            out[3 * i] = t[i]; out[3 * i + 1] = t[n + i]; out[3 * i + 2] = t[2 * n + i]
        }
        return out
    }

    /// Permutes NHWC back to canonical NCHW.
    public static func nhwcToNCHW(_ t: [Float], height: Int, width: Int) -> [Float] {
        let n = height * width
        precondition(t.count == 3 * n, "tensor has \(t.count) values, expected \(height)x\(width)x3")
        var out = [Float](repeating: 0, count: 3 * n)
        for i in 0..<n {
            out[i] = t[3 * i]; out[n + i] = t[3 * i + 1]; out[2 * n + i] = t[3 * i + 2]
        }
        return out
    }

    /// The float32 values as little-endian bytes (what digests and model files see).
    public static func littleEndianBytes(_ t: [Float]) -> [UInt8] {
        #if _endian(little)
        return t.withUnsafeBytes { Array($0) }
        #else
        var out = [UInt8](repeating: 0, count: t.count * 4)
        out.withUnsafeMutableBytes { raw in
            for (i, x) in t.enumerated() {
                raw.storeBytes(of: x.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
            }
        }
        return out
        #endif
    }

    /// sha256 of the float32 little-endian bytes of `t` (pass the NCHW tensor for the spec's
    /// `tensor` stage digest).
    public static func digest(_ t: [Float]) -> String {
        #if _endian(little)
        return t.withUnsafeBytes { SHA256Digest.hex($0) }
        #else
        return SHA256Digest.hex(littleEndianBytes(t))
        #endif
    }
}

extension Normalise {
    /// int8 model input (docs/bundle-format.md): `lut[v]` is the int8 value for pixel byte `v`,
    /// as the bundle's `quantization.lut` gives it. Bridges must use the table, never recompute
    /// the rounding. NCHW or NHWC like the float tensor.
    public static func int8(_ image: RGB8Image, lut: [Int], layout: TensorLayout) throws -> [Int8] {
        guard lut.count == 256, lut.allSatisfy({ (-128...127).contains($0) }) else {
            throw NHError.engine("int8 input lut must hold 256 values in -128...127, got \(lut.count)")
        }
        let t = lut.map { Int8($0) }
        let n = image.width * image.height
        var out = [Int8](repeating: 0, count: 3 * n)
        image.pixels.withUnsafeBufferPointer { s in
            for i in 0..<n {
                for c in 0..<3 {
                    let v = t[Int(s[3 * i + c])]
                    if layout == .nchw { out[c * n + i] = v } else { out[3 * i + c] = v }
                }
            }
        }
        return out
    }
}

/// IEEE-754 binary16 conversions without the `Float16` type (unavailable on Intel Macs), for
/// models whose input or output is float16.
public enum HalfFloat {
    /// `x` rounded to the nearest binary16 (ties to even), as its bit pattern.
    public static func bits(_ x: Float) -> UInt16 {
        let b = x.bitPattern
        let sign = UInt16(truncatingIfNeeded: (b >> 16) & 0x8000)
        let exp = Int((b >> 23) & 0xff)
        var mant = b & 0x7f_ffff
        if exp == 0xff {   // infinity or NaN (quiet NaN keeps some payload)
            return sign | 0x7c00 | (mant != 0 ? 0x0200 | UInt16(truncatingIfNeeded: mant >> 13) : 0)
        }
        let e = exp - 127 + 15
        if e >= 0x1f { return sign | 0x7c00 }   // overflow: infinity
        if e <= 0 {                              // binary16 subnormal (or zero)
            if e < -10 { return sign }
            mant |= 0x80_0000
            let shift = UInt32(14 - e)
            let q = mant >> shift
            let rem = mant & ((1 << shift) - 1)
            let half = UInt32(1) << (shift - 1)
            let r = (rem > half || (rem == half && q & 1 == 1)) ? q + 1 : q
            return sign | UInt16(truncatingIfNeeded: r)
        }
        var h = UInt32(e) << 10 | (mant >> 13)
        let rem = mant & 0x1fff
        if rem > 0x1000 || (rem == 0x1000 && h & 1 == 1) { h += 1 }   // a carry may reach infinity: correct
        return sign | UInt16(truncatingIfNeeded: h)
    }

    /// The exact binary32 value of a binary16 bit pattern.
    public static func float(_ h: UInt16) -> Float {
        let sign: UInt32 = UInt32(h & 0x8000) << 16
        let exp = Int((h >> 10) & 0x1f)
        let mant = UInt32(h & 0x3ff)
        if exp == 0 {
            let magnitude = Float(mant) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign != 0 ? -magnitude : magnitude
        }
        if exp == 0x1f { return Float(bitPattern: sign | 0x7f80_0000 | mant << 13) }
        return Float(bitPattern: sign | UInt32(exp - 15 + 127) << 23 | mant << 13)
    }
}

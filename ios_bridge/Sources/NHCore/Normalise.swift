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

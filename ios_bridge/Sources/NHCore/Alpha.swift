/// Spec step 1 keeps the *stored* colour of translucent pixels (alpha dropped, no compositing).
/// Some platform decoders (ImageIO for some formats) hand out premultiplied samples instead; the
/// stored colour can then only be estimated, and not always exactly: premultiplying loses
/// information (e.g. every colour of a fully transparent pixel becomes 0). `AlphaTests` measures
/// how often the estimate misses, for every (colour, alpha) pair, and decoders put a note in the
/// device report whenever they had to un-premultiply.
public enum Alpha {
    /// The colour estimate for premultiplied sample `p` at alpha `a`: round(p * 255 / a), at most
    /// 255; 0 when `a` is 0 (the stored colour is lost).
    @inline(__always)
    public static func unpremultiply(_ p: UInt8, alpha a: UInt8) -> UInt8 {
        if a == 255 { return p }
        if a == 0 { return 0 }
        return UInt8(min(255, (Int(p) * 255 + Int(a) / 2) / Int(a)))
    }

    /// The note a decoder reports after un-premultiplying `count` translucent pixels.
    public static func premultipliedNote(translucentPixels count: Int) -> String {
        "alpha: the decoder returned premultiplied samples; \(count) translucent pixel(s) were "
            + "un-premultiplied (colour estimated, may differ from the stored value; lost where alpha is 0)"
    }
}

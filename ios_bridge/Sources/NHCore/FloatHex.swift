/// Floats as IEEE-754 bit patterns in lowercase hex (bundle-format.md): float32 as 8 digits,
/// float64 as 16 digits, the bits read as a big-endian integer (`1.0f -> "3f800000"`). Exact and
/// identical in every language, unlike decimal printing.
public enum FloatHex {
    public static func encode(_ value: Float) -> String { pad(String(value.bitPattern, radix: 16), 8) }
    public static func encode(_ value: Double) -> String { pad(String(value.bitPattern, radix: 16), 16) }
    public static func encode(_ values: [Float]) -> [String] { values.map { encode($0) } }
    public static func encode(_ values: [Double]) -> [String] { values.map { encode($0) } }

    /// Strict inverse of `encode(_: Float)`: exactly 8 lowercase hex digits.
    public static func float32(_ text: String, what: String = "value", index: Int = 0) throws -> Float {
        guard let bits = parse(text, digits: 8) else {
            throw NHError.invalidFloatHex(what: what, index: index, value: text)
        }
        return Float(bitPattern: UInt32(bits))
    }

    /// Strict inverse of `encode(_: Double)`: exactly 16 lowercase hex digits.
    public static func float64(_ text: String, what: String = "value", index: Int = 0) throws -> Double {
        guard let bits = parse(text, digits: 16) else {
            throw NHError.invalidFloatHex(what: what, index: index, value: text)
        }
        return Double(bitPattern: bits)
    }

    public static func float32s(_ items: [String], what: String = "value") throws -> [Float] {
        try items.enumerated().map { try float32($0.element, what: what, index: $0.offset) }
    }

    public static func float64s(_ items: [String], what: String = "value") throws -> [Double] {
        try items.enumerated().map { try float64($0.element, what: what, index: $0.offset) }
    }

    private static func pad(_ s: String, _ n: Int) -> String {
        s.count >= n ? s : String(repeating: "0", count: n - s.count) + s
    }

    private static func parse(_ text: String, digits: Int) -> UInt64? {
        let u = text.utf8
        guard u.count == digits else { return nil }
        var v: UInt64 = 0
        for c in u {
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x61...0x66: d = c - 0x61 + 10
            default: return nil
            }
            v = v << 4 | UInt64(d)
        }
        return v
    }
}

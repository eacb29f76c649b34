/// A 96-bit nh-spec-v1 hash (spec step 7). Bit 0 is the most significant bit of the first hex
/// digit; the canonical text form is 24 lowercase hex digits.
public struct NeuralHash96: Hashable, Sendable, Codable, CustomStringConvertible {
    public static let bitCount = 96
    public static let hexDigits = 24

    /// Bits 0..63, bit 0 in the most significant position.
    public let high: UInt64
    /// Bits 64..95 in the low 32 bits, bit 64 in bit position 31.
    public let low: UInt32

    public init(high: UInt64, low: UInt32) {
        self.high = high
        self.low = low
    }

    /// From 96 booleans, bit 0 first.
    public init(bits: [Bool]) {
        precondition(bits.count == Self.bitCount, "NeuralHash96 needs exactly 96 bits, got \(bits.count)")
        var hi: UInt64 = 0
        var lo: UInt32 = 0
        for i in 0..<64 where bits[i] { hi |= 1 << UInt64(63 - i) }
        for i in 64..<96 where bits[i] { lo |= 1 << UInt32(95 - i) }
        self.init(high: hi, low: lo)
    }

    /// Parses exactly 24 hex digits in either case and nothing else (no prefix, no whitespace).
    public init(hex: String) throws {
        let u = Array(hex.utf8)
        guard u.count == Self.hexDigits else { throw NHError.invalidHash(hex) }
        var hi: UInt64 = 0
        var lo: UInt32 = 0
        for (i, c) in u.enumerated() {
            guard let d = Hex.nibble(c) else { throw NHError.invalidHash(hex) }
            if i < 16 { hi = hi << 4 | UInt64(d) } else { lo = lo << 4 | UInt32(d) }
        }
        self.init(high: hi, low: lo)
    }

    /// Bit `i` (0..95) of the hash.
    public func bit(_ i: Int) -> Bool {
        precondition(i >= 0 && i < Self.bitCount, "bit index \(i) out of range 0..95")
        return i < 64 ? (high >> UInt64(63 - i)) & 1 == 1 : (low >> UInt32(95 - i)) & 1 == 1
    }

    public var bits: [Bool] { (0..<Self.bitCount).map(bit) }

    /// The 12 bytes, bit 0 the most significant bit of byte 0.
    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> UInt64(56 - 8 * $0)) }
            + (0..<4).map { UInt8(truncatingIfNeeded: low >> UInt32(24 - 8 * $0)) }
    }

    /// 24 lowercase hex digits.
    public var hex: String { Hex.encode(bytes) }

    public var description: String { hex }

    /// Number of differing bits (0..96).
    public func hamming(_ other: NeuralHash96) -> Int {
        (high ^ other.high).nonzeroBitCount + (low ^ other.low).nonzeroBitCount
    }

    public static func hamming(_ a: String, _ b: String) throws -> Int {
        try NeuralHash96(hex: a).hamming(NeuralHash96(hex: b))
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        try self.init(hex: text)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(hex)
    }
}

/// nh-spec-v1 parameters as carried by bundle manifests, goldens and device reports. Only
/// `orientation` and `fragile_margin` are free in v1; everything else must equal the fixed
/// values (a different value means the hashes do not compare).
public struct NHSpec: Codable, Equatable, Sendable {
    public static let specID = "nh-spec-v1"
    public static let inputSize = 360
    public static let hashBits = 96
    public static let embeddingDim = 128
    public static let resizeMethod = "pillow-bicubic-hv"
    public static let normaliseMethod = "v/255*2-1"

    public enum Orientation: String, Codable, Sendable, CaseIterable { case apply, ignore }

    public var id: String
    public var orientation: Orientation
    public var resize: String
    public var size: Int
    public var normalise: String
    public var hashBits: Int
    public var embeddingDim: Int
    public var fragileMargin: Double

    public init(orientation: Orientation = .apply, fragileMargin: Double = 0.0) {
        id = Self.specID
        self.orientation = orientation
        resize = Self.resizeMethod
        size = Self.inputSize
        normalise = Self.normaliseMethod
        hashBits = Self.hashBits
        embeddingDim = Self.embeddingDim
        self.fragileMargin = fragileMargin
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, orientation, resize, size, normalise
        case hashBits = "hash_bits", embeddingDim = "embedding_dim", fragileMargin = "fragile_margin"
    }

    /// Missing fields take the defaults (as the Python `Spec.from_json`); unknown fields, another
    /// spec id or a fixed field with another value are errors.
    public init(from decoder: Decoder) throws {
        let any = try decoder.container(keyedBy: AnyCodingKey.self)
        let known = Set(CodingKeys.allCases.map(\.stringValue))
        let unknown = any.allKeys.map(\.stringValue).filter { !known.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw NHError.specMismatch("unknown spec fields \(unknown)")
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        orientation = try c.decodeIfPresent(Orientation.self, forKey: .orientation) ?? .apply
        resize = try c.decodeIfPresent(String.self, forKey: .resize) ?? Self.resizeMethod
        size = try c.decodeIfPresent(Int.self, forKey: .size) ?? Self.inputSize
        normalise = try c.decodeIfPresent(String.self, forKey: .normalise) ?? Self.normaliseMethod
        hashBits = try c.decodeIfPresent(Int.self, forKey: .hashBits) ?? Self.hashBits
        embeddingDim = try c.decodeIfPresent(Int.self, forKey: .embeddingDim) ?? Self.embeddingDim
        fragileMargin = try c.decodeIfPresent(Double.self, forKey: .fragileMargin) ?? 0.0
        try validate()
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(orientation, forKey: .orientation)
        try c.encode(resize, forKey: .resize)
        try c.encode(size, forKey: .size)
        try c.encode(normalise, forKey: .normalise)
        try c.encode(hashBits, forKey: .hashBits)
        try c.encode(embeddingDim, forKey: .embeddingDim)
        try c.encode(fragileMargin, forKey: .fragileMargin)
    }

    /// Throws unless this is nh-spec-v1 with a finite, non-negative fragile margin.
    public func validate() throws {
        guard id == Self.specID else {
            throw NHError.specMismatch("spec id is \(String(reflecting: id)); this nhkit implements \"\(Self.specID)\"")
        }
        let fixed: [(String, String, String)] = [
            ("resize", resize, Self.resizeMethod), ("size", String(size), String(Self.inputSize)),
            ("normalise", normalise, Self.normaliseMethod), ("hash_bits", String(hashBits), String(Self.hashBits)),
            ("embedding_dim", String(embeddingDim), String(Self.embeddingDim)),
        ]
        for (name, value, required) in fixed where value != required {
            throw NHError.specMismatch("spec field '\(name)' is \(value); \(Self.specID) requires \(required)")
        }
        guard fragileMargin >= 0.0, fragileMargin.isFinite else {
            throw NHError.specMismatch("fragile_margin must be a number >= 0, got \(fragileMargin)")
        }
    }
}

struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { self.stringValue = String(intValue); self.intValue = intValue }
}

/// Any JSON value, for manifest sections NHCore carries but does not interpret (`drift`, `tools`).
public enum JSONValue: Codable, Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
}

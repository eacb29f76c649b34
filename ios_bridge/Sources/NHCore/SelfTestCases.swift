import Foundation

/// Stage digests (spec §9): sha256 of the oriented RGB8 bytes, of the 360x360x3 bytes, and of
/// the NCHW float32 little-endian tensor.
public struct StageDigests: Codable, Equatable, Sendable {
    public var decoded: String
    public var resized: String
    public var tensor: String

    public init(decoded: String, resized: String, tensor: String) {
        self.decoded = decoded
        self.resized = resized
        self.tensor = tensor
    }
}

/// `selftest/cases.json` of a bundle.
public struct SelfTestCases: Codable, Equatable, Sendable {
    public struct Expected: Codable, Equatable, Sendable {
        /// 24 hex digits (fp32 onnxruntime reference).
        public var hash: String
        /// 128 float32 bit patterns.
        public var embedding: [String]
        /// 96 float64 bit patterns.
        public var projections: [String]
        /// The fragile mask at the spec's fragile_margin, 24 hex digits.
        public var fragile: String
    }

    public struct Case: Codable, Equatable, Sendable {
        public var id: String
        /// The source image file name inside `selftest/`.
        public var source: String
        public var lossless: Bool
        public var description: String?
        /// The EXIF orientation tag the file carries (1 when none).
        public var orientation: Int
        /// The 360x360x3 RGB8 bytes after spec step 3, file name inside `selftest/`.
        public var rgb360: String
        public var digests: StageDigests
        public var expected: Expected
    }

    /// A mode sampler case (`decode_cases`): a tiny file in one stored mode and the reference
    /// result of spec steps 1-2 on it; no model run (docs/bundle-format.md).
    public struct DecodeCase: Codable, Equatable, Sendable {
        public var id: String
        /// The file name inside `selftest/`.
        public var source: String
        /// The stored mode in spec step 1's words, e.g. `I;16`, `P + tRNS`.
        public var mode: String
        public var description: String
        public var orientation: Int
        /// The oriented size.
        public var width: Int
        public var height: Int
        /// sha256 of the oriented RGB8 bytes.
        public var decoded: String
    }

    public var format: String
    public var formatVersion: Int
    public var bundleID: String
    public var cases: [Case]
    /// The mode sampler; nil when the bundle has none.
    public var decodeCases: [DecodeCase]?

    enum CodingKeys: String, CodingKey {
        case format, formatVersion = "format_version", bundleID = "bundle_id", cases, decodeCases = "decode_cases"
    }

    public static func load(from url: URL) throws -> SelfTestCases {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw NHError.bundle(path: url.path, reason: "cannot read self-test cases: \(error.localizedDescription)")
        }
        let cases: SelfTestCases
        do {
            cases = try JSONDecoder().decode(SelfTestCases.self, from: data)
        } catch {
            throw NHError.bundle(path: url.path, reason: "malformed self-test cases: \(NHBundle.describe(error))")
        }
        guard cases.format == "nhkit-selftest", cases.formatVersion == 1 else {
            throw NHError.bundle(path: url.path, reason: "format is \(cases.format) v\(cases.formatVersion), expected nhkit-selftest v1")
        }
        var ids = Set<String>()
        for c in cases.cases {
            guard ids.insert(c.id).inserted else { throw NHError.bundle(path: url.path, reason: "case id \(c.id) appears twice") }
            for name in [c.source, c.rgb360] where !BundleManifest.isSafeRelativePath(name) {
                throw NHError.bundle(path: url.path, reason: "case \(c.id): unsafe file name \(String(reflecting: name))")
            }
        }
        for d in cases.decodeCases ?? [] {
            guard ids.insert(d.id).inserted else { throw NHError.bundle(path: url.path, reason: "case id \(d.id) appears twice") }
            guard BundleManifest.isSafeRelativePath(d.source) else {
                throw NHError.bundle(path: url.path, reason: "decode case \(d.id): unsafe file name \(String(reflecting: d.source))")
            }
        }
        return cases
    }
}

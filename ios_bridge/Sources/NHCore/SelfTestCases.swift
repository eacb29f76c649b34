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

    /// The file's keys and JSON types (runtime/schemas/selftest-cases.v1.schema.json).
    static let shape: JSONShape = {
        let sha = JSONShape.string
        return .object([
            "format": .string, "format_version": .integer, "bundle_id": .string,
            "cases": .array(.object([
                "id": .string, "source": .string, "lossless": .boolean, "description": .string,
                "orientation": .integer, "rgb360": .string,
                "digests": .object(["decoded": sha, "resized": sha, "tensor": sha]),
                "expected": .object(["hash": .string, "embedding": .array(.string),
                                     "projections": .array(.string), "fragile": .string]),
            ])),
            // the mode sampler (optional: bundles exported before it have none)
            "decode_cases": .array(.object([
                "id": .string, "source": .string, "mode": .string, "description": .string,
                "orientation": .integer, "width": .integer, "height": .integer, "decoded": sha,
            ])),
        ], optional: ["decode_cases"])
    }()

    public static func load(from url: URL) throws -> SelfTestCases {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw NHError.bundle(path: url.path, reason: "cannot read self-test cases: \(error.localizedDescription)")
        }
        return try parse(data, source: url.path)
    }

    /// Parses and checks cases.json bytes (`source` names the file in every error): strict JSON
    /// (a UTF-8 BOM tolerated), the format header, every field with its JSON type and no unknown
    /// one, 128 embedding and 96 projection bit patterns, 24-digit hashes, unique ids, safe file
    /// names. What ties the cases to a bundle is checked by `NHBundle.loadSelfTestCases`.
    public static func parse(_ data: Data, source: String) throws -> SelfTestCases {
        func fail(_ reason: String) -> NHError { .bundle(path: source, reason: reason) }
        let top = try NHJSONFile(format: "nhkit-selftest", version: 1, shape: shape).read(data, fail: fail)
        let cases: SelfTestCases
        do {
            cases = try JSONDecoder().decode(SelfTestCases.self, from: Data(StrictJSON.object(top).compactText.utf8))
        } catch {
            throw fail("malformed self-test cases: \(NHBundle.describe(error))")
        }
        var ids = Set<String>()
        for (n, c) in cases.cases.enumerated() {
            let at = "cases[\(n)]"
            guard ids.insert(c.id).inserted else { throw fail("\(at).id: case id \(c.id) appears twice") }
            for (key, name) in [("source", c.source), ("rgb360", c.rgb360)] where !BundleManifest.isSafeRelativePath(name) {
                throw fail("\(at).\(key): unsafe file name \(String(reflecting: name))")
            }
            let e = c.expected
            guard e.embedding.count == NHSpec.embeddingDim else {
                throw fail("\(at).expected.embedding: has \(e.embedding.count) items, expected exactly \(NHSpec.embeddingDim)")
            }
            guard e.projections.count == NHSpec.hashBits else {
                throw fail("\(at).expected.projections: has \(e.projections.count) items, expected exactly \(NHSpec.hashBits)")
            }
            do {
                _ = try FloatHex.float32s(e.embedding, what: "\(at).expected.embedding")
                _ = try FloatHex.float64s(e.projections, what: "\(at).expected.projections")
            } catch let err as NHError {
                throw fail(err.description)
            }
            for (key, hex) in [("hash", e.hash), ("fragile", e.fragile)] where (try? NeuralHash96(hex: hex)) == nil {
                throw fail("\(at).expected.\(key): \(String(reflecting: hex)) is not 24 hex digits")
            }
        }
        for (n, d) in (cases.decodeCases ?? []).enumerated() {
            let at = "decode_cases[\(n)]"
            guard ids.insert(d.id).inserted else {
                throw fail("\(at).id: case id \(d.id) appears twice (cases and decode_cases share ids)")
            }
            guard BundleManifest.isSafeRelativePath(d.source) else {
                throw fail("\(at).source: unsafe file name \(String(reflecting: d.source))")
            }
        }
        return cases
    }
}

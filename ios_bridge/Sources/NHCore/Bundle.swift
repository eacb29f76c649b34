import Foundation

/// `manifest.json` of an nhkit device bundle, format version 1 (docs/bundle-format.md).
public struct BundleManifest: Codable, Equatable, Sendable {
    public struct SourceModel: Codable, Equatable, Sendable {
        public var name: String
        public var sha256: String?
        public var fingerprint: String?
    }

    public struct Runtime: Codable, Equatable, Sendable {
        public var name: String
        public var minVersion: String?
        enum CodingKeys: String, CodingKey { case name, minVersion = "min_version" }
    }

    public struct Variant: Codable, Equatable, Sendable {
        public var name: String
        public var precision: String?
        public var compression: String?
    }

    /// int8 I/O: `t = (q - zero_point) * scale + offset`, `q = clamp(round((t - offset) / scale) + zero_point, -128, 127)`.
    /// Inputs also carry `lut`, the int8 value for each 8-bit sample 0..255 (what a bridge feeds),
    /// and may carry `offset`, which the model adds after dequantizing its input (0 when absent;
    /// nhkit's int8-io: -1 with zero point -128, so the table is `v - 128`).
    public struct Quantization: Codable, Equatable, Sendable {
        public var scale: Double
        public var zeroPoint: Int
        public var offset: Double?
        public var lut: [Int]?
        enum CodingKeys: String, CodingKey { case scale, zeroPoint = "zero_point", offset, lut }
    }

    public struct TensorSpec: Codable, Equatable, Sendable {
        public var name: String
        public var shape: [Int]
        public var dtype: String
        /// Inputs only: `NCHW` or `NHWC`.
        public var layout: TensorLayout?
        public var quantization: Quantization?
    }

    public struct Model: Codable, Equatable, Sendable {
        public var file: String
        public var inputs: [TensorSpec]
        public var outputs: [TensorSpec]
    }

    public struct SeedInfo: Codable, Equatable, Sendable {
        public var file: String
        public var rows: Int
        public var cols: Int
        public var dtype: String
        public var byteOrder: String
        public var sha256: String
        enum CodingKeys: String, CodingKey { case file, rows, cols, dtype, byteOrder = "byte_order", sha256 }
    }

    public struct FileEntry: Codable, Equatable, Sendable {
        public var path: String
        public var sha256: String
        public var size: Int
    }

    public struct SelfTestInfo: Codable, Equatable, Sendable {
        public var file: String
        public var cases: Int
        /// Set when the cases ship as a second artefact, `<bundle_id>.selftest.zip`
        /// (docs/bundle-format.md, "Self-test placement"): unzipped next to the bundle folder it
        /// adds `selftest/`, whose files are then listed (and verified) from `files` below.
        public var archive: ArchiveInfo?
        public var files: [FileEntry]?
    }

    public struct ArchiveInfo: Codable, Equatable, Sendable {
        public var file: String
        public var sha256: String
        public var size: Int
    }

    public struct Tolerance: Codable, Equatable, Sendable {
        public var hamming: Int
        public var lossyHamming: Int
        enum CodingKeys: String, CodingKey { case hamming, lossyHamming = "lossy_hamming" }
        public init(hamming: Int, lossyHamming: Int) { self.hamming = hamming; self.lossyHamming = lossyHamming }
    }

    public var format: String
    public var formatVersion: Int
    public var bundleID: String
    public var spec: NHSpec
    public var sourceModel: SourceModel?
    /// `tflite` or `coreml`.
    public var target: String
    public var runtime: Runtime?
    public var variant: Variant?
    public var model: Model
    public var seed: SeedInfo
    public var selftest: SelfTestInfo?
    public var files: [FileEntry]
    public var drift: JSONValue?
    public var tolerance: Tolerance?
    public var tools: JSONValue?

    enum CodingKeys: String, CodingKey {
        case format, formatVersion = "format_version", bundleID = "bundle_id", spec
        case sourceModel = "source_model", target, runtime, variant, model, seed, selftest, files, drift, tolerance, tools
    }

    /// The model input (the first, and in v1 the only, input).
    public var input: TensorSpec { model.inputs[0] }
    /// The embedding output.
    public var output: TensorSpec { model.outputs[0] }

    /// The manifest's keys and JSON types (runtime/schemas/bundle-manifest.v1.schema.json):
    /// every field is required except `selftest.archive`/`selftest.files`; no unknown field.
    static let shape: JSONShape = {
        let sha = JSONShape.string
        let fileEntry = JSONShape.object(["path": .string, "sha256": sha, "size": .integer])
        let qIn = JSONShape.object(["scale": .number, "zero_point": .integer, "offset": .number, "lut": .array(.integer)],
                                   optional: ["offset"])
        let qOut = JSONShape.object(["scale": .number, "zero_point": .integer])
        return .object([
            "format": .string, "format_version": .integer, "bundle_id": .string,
            "spec": .object(["id": .string, "orientation": .string, "resize": .string, "size": .integer,
                             "normalise": .string, "hash_bits": .integer, "embedding_dim": .integer,
                             "fragile_margin": .number]),
            "source_model": .object(["name": .string, "sha256": sha, "fingerprint": sha]),
            "target": .string,
            "runtime": .object(["name": .string, "min_version": .string]),
            "variant": .object(["name": .string, "precision": .string, "compression": .string]),
            "model": .object([
                "file": .string,
                "inputs": .array(.object(["name": .string, "shape": .array(.integer), "dtype": .string,
                                          "layout": .string, "quantization": .nullable(qIn)])),
                "outputs": .array(.object(["name": .string, "shape": .array(.integer), "dtype": .string,
                                           "quantization": .nullable(qOut)])),
            ]),
            "seed": .object(["file": .string, "rows": .integer, "cols": .integer, "dtype": .string,
                             "byte_order": .string, "sha256": sha]),
            "selftest": .object(["file": .string, "cases": .integer,
                                 "archive": .object(["file": .string, "sha256": sha, "size": .integer]),
                                 "files": .array(fileEntry)], optional: ["archive", "files"]),
            "files": .array(fileEntry),
            // p99 terms and the photo sets of calibration and validation are optional: bundles
            // exported before they existed have none (the schema says the same)
            "drift": .object([
                "reference": .string, "images": .integer, "photos": .integer,
                "hamming": .object(["mean": .number, "p95": .integer, "p99": .integer, "max": .integer], optional: ["p99"]),
                "bit_exact_rate": .number,
                "embedding": .object(["max_abs_error": .number, "cosine_min": .number, "cosine_mean": .number]),
                "nonfragile_flips": .integer, "fragile_flips": .integer,
                "budget": .object(["mean": .number, "p99": .nullable(.integer), "max": .nullable(.integer), "nonfragile_flips": .nullable(.integer)], optional: ["p99", "nonfragile_flips"]),
                "passed": .boolean, "overridden": .boolean,
                "selftest": .object(["cases": .integer, "hamming_max": .integer, "nonfragile_max": .integer]),
                "validation": .object(["folder": .string, "photos": .integer, "views": .array(.string), "sha256_list": .string]),
                "calibration": .nullable(.object(["folder": .string, "photos": .integer, "views": .array(.string),
                                                  "sha256_list": .string, "shared_with_validation": .integer])),
            ], optional: ["validation", "calibration"]),
            "tolerance": .object(["hamming": .integer, "lossy_hamming": .integer, "nonfragile_flips": .integer]),
            "tools": .map(.string),
        ])
    }()

    /// Parses and checks `manifest.json` bytes (`source` names the file in every error): strict
    /// JSON (a UTF-8 BOM tolerated), the format header, every field present with its JSON type
    /// and no unknown one, then `validate`. Errors name the field (`model.inputs[0].shape`).
    public static func parse(_ data: Data, source: String) throws -> BundleManifest {
        func fail(_ reason: String) -> NHError { .bundle(path: source, reason: reason) }
        let top = try NHJSONFile(format: "nhkit-bundle", version: 1, shape: shape).read(data, fail: fail)
        let manifest: BundleManifest
        do {
            manifest = try JSONDecoder().decode(BundleManifest.self, from: Data(StrictJSON.object(top).compactText.utf8))
        } catch {
            throw fail("malformed manifest: \(NHBundle.describe(error))")
        }
        try manifest.validate(source: source)
        return manifest
    }

    /// Structural checks a reader must make before trusting the manifest (names `source`).
    public func validate(source: String) throws {
        func fail(_ reason: String) -> NHError { .bundle(path: source, reason: reason) }
        guard format == "nhkit-bundle" else { throw fail("format: is \(String(reflecting: format)), expected \"nhkit-bundle\"") }
        guard formatVersion == 1 else { throw fail("format_version: \(formatVersion) is not supported (this reader knows 1)") }
        try spec.validate()
        guard model.inputs.count == 1 else { throw fail("model.inputs: must hold exactly one input, has \(model.inputs.count)") }
        guard model.outputs.count == 1 else { throw fail("model.outputs: must hold exactly one output, has \(model.outputs.count)") }
        let inp = input
        let n = NHSpec.inputSize
        switch inp.layout {
        case .nchw?: guard inp.shape == [1, 3, n, n] else { throw fail("model.inputs[0].shape: NCHW input shape must be [1, 3, \(n), \(n)], got \(inp.shape)") }
        case .nhwc?: guard inp.shape == [1, n, n, 3] else { throw fail("model.inputs[0].shape: NHWC input shape must be [1, \(n), \(n), 3], got \(inp.shape)") }
        case nil: throw fail("model.inputs[0].layout: model input '\(inp.name)' has no layout")
        }
        guard output.shape.reduce(1, *) == NHSpec.embeddingDim else {
            throw fail("model.outputs[0].shape: \(output.shape) does not hold \(NHSpec.embeddingDim) values")
        }
        guard seed.rows == Seed.rows, seed.cols == Seed.cols, seed.dtype == "float32", seed.byteOrder == "little" else {
            throw fail("seed must be \(Seed.rows)x\(Seed.cols) little-endian float32")
        }
        var seen = Set<String>()
        for f in files {
            guard Self.isSafeRelativePath(f.path) else { throw fail("unsafe file path \(String(reflecting: f.path))") }
            guard seen.insert(f.path).inserted else { throw fail("file \(f.path) is listed twice") }
            guard f.size >= 0, f.sha256.count == 64, Hex.decode(f.sha256) != nil else {
                throw fail("file \(f.path) has a malformed size or sha256")
            }
        }
        guard let seedEntry = files.first(where: { $0.path == seed.file }) else { throw fail("seed file \(seed.file) is not listed in files") }
        guard seedEntry.sha256 == seed.sha256 else { throw fail("seed.sha256 differs from the files entry for \(seed.file)") }
        guard files.contains(where: { $0.path == model.file || $0.path.hasPrefix(model.file + "/") }) else {
            throw fail("model \(model.file) is not listed in files")
        }
        if let st = selftest {
            guard Self.isSafeRelativePath(st.file) else { throw fail("unsafe selftest file \(String(reflecting: st.file))") }
            if st.archive == nil {
                guard seen.contains(st.file) else { throw fail("self-test cases \(st.file) are not listed in files") }
            } else {
                let stPaths = (st.files ?? []).map(\.path)
                guard stPaths == stPaths.sorted(), Set(stPaths).count == stPaths.count,
                      stPaths.allSatisfy({ $0.hasPrefix("selftest/") && Self.isSafeRelativePath($0) }),
                      seen.isDisjoint(with: stPaths) else {
                    throw fail("selftest.files: paths must be unique, sorted, under selftest/ and not also in files")
                }
                guard stPaths.contains(st.file) else { throw fail("self-test cases \(st.file) are not listed in selftest.files") }
            }
        }
    }

    /// Every file a reader may verify and use: `files`, plus `selftest.files` when the
    /// separately shipped self-test is unpacked into the bundle (`present` tells).
    func listedFiles(selfTestPresent present: Bool) -> [FileEntry] {
        files + (present ? (selftest?.files ?? []) : [])
    }

    /// Relative, `/`-separated, no empty, `.` or `..` components, no backslashes.
    public static func isSafeRelativePath(_ p: String) -> Bool {
        guard !p.isEmpty, !p.hasPrefix("/"), !p.contains("\\"), !p.contains("\0") else { return false }
        return p.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }
}

/// An opened bundle folder: the parsed manifest, its digest, and (normally) every listed file
/// verified against the manifest's size and sha256.
public struct NHBundle: Sendable {
    public let url: URL
    public let manifest: BundleManifest
    /// sha256 of the `manifest.json` bytes (reported in device reports).
    public let manifestSHA256: String
    public let checksumsVerified: Bool

    /// Opens `<bundle_id>/` and, unless `verifyChecksums` is false, checks every listed file
    /// (size and sha256) before anything in it is used.
    public init(url: URL, verifyChecksums: Bool = true) throws {
        self.url = url
        let manifestURL = url.appendingPathComponent("manifest.json")
        let data: Data
        do {
            data = try Data(contentsOf: manifestURL)
        } catch {
            throw NHError.bundle(path: manifestURL.path, reason: "cannot read manifest: \(error.localizedDescription)")
        }
        manifest = try BundleManifest.parse(data, source: manifestURL.path)
        manifestSHA256 = SHA256Digest.hex(data)
        if verifyChecksums {
            try Self.verifyFiles(of: manifest, in: url)
        }
        checksumsVerified = verifyChecksums
    }

    /// Checks every file listed in `manifest.files`: it exists, has the listed size and sha256;
    /// and that no other file is in the bundle.
    public static func verifyFiles(of manifest: BundleManifest, in root: URL) throws {
        let all = manifest.listedFiles(selfTestPresent: selfTestUnpacked(manifest, in: root))
        for entry in all {
            let fileURL = root.appendingPathComponent(entry.path)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: fileURL.path, isDirectory: &isDir), !isDir.boolValue else {
                throw NHError.checksum(path: fileURL.path, reason: "listed in the manifest but missing")
            }
            let (hex, size) = try SHA256Digest.file(at: fileURL)
            guard size == entry.size else {
                throw NHError.checksum(path: fileURL.path, reason: "size is \(size) bytes, manifest says \(entry.size)")
            }
            guard hex == entry.sha256.lowercased() else {
                throw NHError.checksum(path: fileURL.path, reason: "sha256 is \(hex), manifest says \(entry.sha256)")
            }
        }
        // No unlisted files (docs/bundle-format.md), except Finder's `.DS_Store`, which a copy
        // from a Mac can drag along and which no runtime reads.
        let listed = Set(all.map(\.path))
        for rel in try regularFiles(under: root) where rel != "manifest.json" && !listed.contains(rel) {
            if rel == ".DS_Store" || rel.hasSuffix("/.DS_Store") { continue }
            throw NHError.checksum(path: root.appendingPathComponent(rel).path, reason: "is in the bundle but not listed in the manifest")
        }
    }

    /// Whether a separately shipped self-test (`selftest.archive`) has been unzipped into the
    /// bundle folder; an embedded self-test counts as present.
    static func selfTestUnpacked(_ manifest: BundleManifest, in root: URL) -> Bool {
        guard let st = manifest.selftest, st.archive != nil else { return manifest.selftest != nil }
        return FileManager.default.fileExists(atPath: root.appendingPathComponent(st.file).path)
    }

    /// Whether this bundle carries self-test cases here (embedded, or a separately shipped
    /// self-test unpacked into it).
    public var hasSelfTest: Bool { Self.selfTestUnpacked(manifest, in: url) }

    /// Relative paths of the regular files under `dir`, `/`-separated.
    public static func regularFiles(under dir: URL) throws -> [String] {
        let fm = FileManager.default
        var out: [String] = []
        func walk(_ u: URL, _ prefix: String) throws {
            for name in try fm.contentsOfDirectory(atPath: u.path).sorted() {
                let child = u.appendingPathComponent(name)
                var isDir: ObjCBool = false
                _ = fm.fileExists(atPath: child.path, isDirectory: &isDir)
                if isDir.boolValue { try walk(child, prefix + name + "/") } else { out.append(prefix + name) }
            }
        }
        try walk(dir, "")
        return out
    }

    public var modelURL: URL { url.appendingPathComponent(manifest.model.file) }
    public var seedURL: URL { url.appendingPathComponent(manifest.seed.file) }
    /// The folder holding `cases.json` and the case files.
    public var selfTestURL: URL {
        let file = manifest.selftest?.file ?? "selftest/cases.json"
        return url.appendingPathComponent(file).deletingLastPathComponent()
    }

    /// Loads the seed and checks it against the manifest's `seed.sha256`.
    public func loadSeed() throws -> Seed {
        let seed = try Seed(contentsOf: seedURL)
        let digest = seed.sha256
        guard digest == manifest.seed.sha256.lowercased() else {
            throw NHError.checksum(path: seedURL.path, reason: "seed sha256 is \(digest), manifest says \(manifest.seed.sha256)")
        }
        return seed
    }

    /// Loads `selftest/cases.json` and checks it belongs to this bundle.
    public func loadSelfTestCases() throws -> SelfTestCases {
        let casesURL = url.appendingPathComponent(manifest.selftest?.file ?? "selftest/cases.json")
        if let archive = manifest.selftest?.archive, !hasSelfTest {
            throw NHError.bundle(path: casesURL.path, reason: "the self-test ships separately as \(archive.file): unzip it next to the bundle folder to run it")
        }
        let cases = try SelfTestCases.load(from: casesURL)
        guard cases.bundleID == manifest.bundleID else {
            throw NHError.bundle(path: casesURL.path, reason: "cases are for bundle \(cases.bundleID), not \(manifest.bundleID)")
        }
        if let expected = manifest.selftest?.cases, expected != cases.cases.count {
            throw NHError.bundle(path: casesURL.path, reason: "holds \(cases.cases.count) cases, the manifest says \(expected)")
        }
        // Case files must be bundled (hence checksummed), and each rgb360 must match its digests.
        let listed = Set(manifest.listedFiles(selfTestPresent: true).map(\.path))
        let dir = (manifest.selftest?.file ?? "selftest/cases.json").split(separator: "/").dropLast().joined(separator: "/")
        for c in cases.cases {
            for name in [c.source, c.rgb360] {
                let rel = dir.isEmpty ? name : dir + "/" + name
                guard listed.contains(rel) else {
                    throw NHError.bundle(path: casesURL.path, reason: "case \(c.id): \(rel) is not listed in the manifest")
                }
            }
            let rgbURL = selfTestURL.appendingPathComponent(c.rgb360)
            let bytes = [UInt8](try Data(contentsOf: rgbURL))
            let n = NHSpec.inputSize
            guard bytes.count == n * n * 3 else {
                throw NHError.bundle(path: rgbURL.path, reason: "has \(bytes.count) bytes, expected \(n * n * 3) (\(n)x\(n) RGB8)")
            }
            let img = try RGB8Image(width: n, height: n, pixels: bytes)
            guard img.sha256 == c.digests.resized else {
                throw NHError.bundle(path: rgbURL.path, reason: "sha256 differs from case \(c.id) digests.resized")
            }
            guard Normalise.digest(Normalise.nchw(img)) == c.digests.tensor else {
                throw NHError.bundle(path: rgbURL.path, reason: "normalised tensor differs from case \(c.id) digests.tensor")
            }
        }
        for d in cases.decodeCases ?? [] {
            let rel = dir.isEmpty ? d.source : dir + "/" + d.source
            guard listed.contains(rel) else {
                throw NHError.bundle(path: casesURL.path, reason: "decode case \(d.id): \(rel) is not listed in the manifest")
            }
        }
        return cases
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let ctx):
            return "missing key '\(key.stringValue)' at \(path(ctx.codingPath))"
        case DecodingError.typeMismatch(_, let ctx), DecodingError.valueNotFound(_, let ctx),
             DecodingError.dataCorrupted(let ctx):
            return "\(ctx.debugDescription) at \(path(ctx.codingPath))"
        default:
            return String(describing: error)
        }
    }

    private static func path(_ keys: [CodingKey]) -> String {
        keys.isEmpty ? "(top level)" : StrictJSON.fieldPath(keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue })
    }
}

import Foundation

/// The self-test report a device writes for `nhkit golden check` (docs/device-report.md).
public struct DeviceReport: Codable, Equatable, Sendable {
    public struct Bridge: Codable, Equatable, Sendable {
        public var name: String
        public var version: String
        public init(name: String, version: String) { self.name = name; self.version = version }
    }

    public struct Platform: Codable, Equatable, Sendable {
        public var os: String
        public var osVersion: String
        public var deviceModel: String
        enum CodingKeys: String, CodingKey { case os, osVersion = "os_version", deviceModel = "device_model" }
        public init(os: String, osVersion: String, deviceModel: String) {
            self.os = os; self.osVersion = osVersion; self.deviceModel = deviceModel
        }
    }

    public struct Runtime: Codable, Equatable, Sendable {
        public var name: String
        public var version: String
        /// What the runtime used: `cpuOnly`, `cpuAndGPU`, `cpuAndNeuralEngine`, `all`, ...
        public var computeUnit: String
        /// 0 = the runtime's default (Core ML does not expose a thread count).
        public var threads: Int
        enum CodingKeys: String, CodingKey { case name, version, computeUnit = "compute_unit", threads }
        public init(name: String, version: String, computeUnit: String, threads: Int = 0) {
            self.name = name; self.version = version; self.computeUnit = computeUnit; self.threads = threads
        }
    }

    public struct BundleInfo: Codable, Equatable, Sendable {
        public var bundleID: String
        public var manifestSHA256: String
        public var checksumsVerified: Bool
        /// Optional: the manifest's `target` (`coreml`, `tflite`).
        public var target: String?
        /// Optional: the manifest's `source_model.fingerprint`.
        public var sourceModelFingerprint: String?
        enum CodingKeys: String, CodingKey {
            case bundleID = "bundle_id", manifestSHA256 = "manifest_sha256", checksumsVerified = "checksums_verified"
            case target, sourceModelFingerprint = "source_model_fingerprint"
        }
        public init(bundleID: String, manifestSHA256: String, checksumsVerified: Bool, target: String? = nil,
                    sourceModelFingerprint: String? = nil) {
            self.bundleID = bundleID; self.manifestSHA256 = manifestSHA256; self.checksumsVerified = checksumsVerified
            self.target = target; self.sourceModelFingerprint = sourceModelFingerprint
        }

        /// What a report says about `bundle`.
        public init(_ bundle: NHBundle) {
            self.init(bundleID: bundle.manifest.bundleID, manifestSHA256: bundle.manifestSHA256,
                      checksumsVerified: bundle.checksumsVerified, target: bundle.manifest.target,
                      sourceModelFingerprint: bundle.manifest.sourceModel?.fingerprint)
        }
    }

    /// Milliseconds per stage.
    public struct Timings: Codable, Equatable, Sendable {
        public var decode: Double
        public var resize: Double
        public var normalise: Double
        public var model: Double
        public var project: Double
        public init(decode: Double = 0, resize: Double = 0, normalise: Double = 0, model: Double = 0, project: Double = 0) {
            self.decode = decode; self.resize = resize; self.normalise = normalise; self.model = model; self.project = project
        }
    }

    /// One case. A failed case carries `error` and may omit everything else; a successful one
    /// writes `"error": null` explicitly.
    public struct CaseResult: Codable, Equatable, Sendable {
        public var id: String
        public var digests: StageDigests?
        /// 128 float32 bit patterns.
        public var embedding: [String]?
        /// 96 float64 bit patterns.
        public var projections: [String]?
        public var hash: String?
        /// The EXIF orientation applied (1 if none).
        public var orientation: Int?
        public var timingsMs: Timings?
        public var error: String?
        /// Lossy cases: the decoder's measured distance from the reference.
        public var decodeDeviation: DecodeDeviation?
        /// Free-form notes for people (`extra.note`: what the decoder could not do exactly).
        public var extra: [String: String]?

        enum CodingKeys: String, CodingKey {
            case id, digests, embedding, projections, hash, orientation, timingsMs = "timings_ms", error
            case decodeDeviation = "decode_deviation", extra
        }

        public init(id: String, digests: StageDigests? = nil, embedding: [String]? = nil, projections: [String]? = nil,
                    hash: String? = nil, orientation: Int? = nil, timingsMs: Timings? = nil, error: String? = nil,
                    decodeDeviation: DecodeDeviation? = nil, extra: [String: String]? = nil) {
            self.id = id; self.digests = digests; self.embedding = embedding; self.projections = projections
            self.hash = hash; self.orientation = orientation; self.timingsMs = timingsMs; self.error = error
            self.decodeDeviation = decodeDeviation
            self.extra = extra
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encodeIfPresent(digests, forKey: .digests)
            try c.encodeIfPresent(embedding, forKey: .embedding)
            try c.encodeIfPresent(projections, forKey: .projections)
            try c.encodeIfPresent(hash, forKey: .hash)
            try c.encodeIfPresent(orientation, forKey: .orientation)
            try c.encodeIfPresent(decodeDeviation, forKey: .decodeDeviation)
            try c.encodeIfPresent(timingsMs, forKey: .timingsMs)
            try c.encode(error, forKey: .error)   // explicit null when the case succeeded
            try c.encodeIfPresent(extra, forKey: .extra)
        }
    }

    /// One mode sampler case (`decode_cases`): spec steps 1-2 only. A failed case carries
    /// `error`; a successful one writes `"error": null` explicitly.
    public struct DecodeResult: Codable, Equatable, Sendable {
        public var id: String
        /// sha256 of the oriented RGB8 bytes.
        public var decoded: String?
        public var orientation: Int?
        /// The oriented size.
        public var width: Int?
        public var height: Int?
        public var error: String?
        public var extra: [String: String]?

        public init(id: String, decoded: String? = nil, orientation: Int? = nil, width: Int? = nil,
                    height: Int? = nil, error: String? = nil, extra: [String: String]? = nil) {
            self.id = id; self.decoded = decoded; self.orientation = orientation
            self.width = width; self.height = height; self.error = error; self.extra = extra
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encodeIfPresent(decoded, forKey: .decoded)
            try c.encodeIfPresent(orientation, forKey: .orientation)
            try c.encodeIfPresent(width, forKey: .width)
            try c.encodeIfPresent(height, forKey: .height)
            try c.encode(error, forKey: .error)   // explicit null when the case succeeded
            try c.encodeIfPresent(extra, forKey: .extra)
        }
    }

    public static let formatName = "nhkit-device-report"

    public var format: String
    public var formatVersion: Int
    public var bridge: Bridge
    public var platform: Platform
    public var runtime: Runtime
    public var bundle: BundleInfo
    public var spec: NHSpec
    /// ISO 8601 UTC, e.g. `2026-11-21T12:00:00Z`.
    public var created: String
    public var cases: [CaseResult]
    /// The bundle's mode sampler results; nil when the bundle has none.
    public var decodeCases: [DecodeResult]?

    enum CodingKeys: String, CodingKey {
        case format, formatVersion = "format_version", bridge, platform, runtime, bundle, spec, created, cases
        case decodeCases = "decode_cases"
    }

    public init(bridge: Bridge, platform: Platform, runtime: Runtime, bundle: BundleInfo, spec: NHSpec,
                created: Date = Date(), cases: [CaseResult], decodeCases: [DecodeResult]? = nil) {
        format = Self.formatName
        formatVersion = 1
        self.bridge = bridge; self.platform = platform; self.runtime = runtime; self.bundle = bundle
        self.spec = spec
        self.created = Self.timestamp(created)
        self.cases = cases
        self.decodeCases = decodeCases
    }

    public static func timestamp(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: date)
    }

    /// Pretty-printed JSON with sorted keys (deterministic on every platform), trailing newline.
    public func jsonData() throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var d = try enc.encode(self)
        d.append(0x0a)
        return d
    }

    public func write(to url: URL) throws {
        try jsonData().write(to: url, options: .atomic)
    }

    /// Reads and checks a report. The syntax is checked by the strict reader first because
    /// `JSONDecoder` lets a repeated key win silently (the policy everywhere is to reject it);
    /// errors name the file and the field (tests/vectors/readers/index.json).
    public static func load(from url: URL) throws -> DeviceReport {
        func fail(_ reason: String) -> NHError { NHError.bundle(path: url.path, reason: reason) }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw fail("cannot read: \(error.localizedDescription)")
        }
        let top = try NHJSONFile(format: formatName, version: 1, shape: nil).read(data, fail: fail)
        let report: DeviceReport
        do {
            report = try JSONDecoder().decode(DeviceReport.self, from: Data(StrictJSON.object(top).compactText.utf8))
        } catch let e as NHError {
            throw fail(e.description)
        } catch {
            // A missing key or a wrong type is the report's fault: NHError, like every reader
            // (found by the bridges' fuzzer: DecodingError escaped).
            throw fail("malformed report: \(NHBundle.describe(error))")
        }
        try report.checkCases(fail)
        return report
    }

    /// A case without an error carries its hash, and its projections are finite.
    private func checkCases(_ fail: (String) -> NHError) throws {
        for (n, c) in cases.enumerated() where c.error == nil {
            guard c.hash != nil else { throw fail("cases[\(n)]: a case without an error must carry its hash") }
            for (j, text) in (c.projections ?? []).enumerated() {
                let v = try FloatHex.float64(text, what: "cases[\(n)].projections", index: j)
                guard v.isFinite else { throw fail("cases[\(n)].projections[\(j)] is \(v), not a finite number") }
            }
        }
    }
}

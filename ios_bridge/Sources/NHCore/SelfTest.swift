import Foundation

/// Spec step 1 on some platform: an image file -> its stored 8-bit samples as RGB8 (no colour
/// management) and its EXIF orientation tag (nil when the file has none).
public protocol ImageFileDecoding {
    /// Must reject a file whose `width * height` exceeds `maxPixels` before decoding its pixels.
    func decode(contentsOf url: URL, maxPixels: Int) throws -> DecodedImage
}

public struct DecodedImage: Sendable {
    public var image: RGB8Image
    /// The EXIF Orientation tag (0x0112), nil when absent.
    public var orientation: Int?
    /// What the decoder could not do exactly (e.g. un-premultiplied alpha), for the report's
    /// case `extra.note`; nil when nothing is to be said.
    public var note: String?
    public init(image: RGB8Image, orientation: Int?, note: String? = nil) {
        self.image = image
        self.orientation = orientation
        self.note = note
    }
}

public enum DecodeLimits {
    /// The spec's default decompression-bomb guard.
    public static let defaultMaxPixels = 100_000_000
}

/// Runs a bundle's self-test cases through a decoder and an engine and builds the device report
/// (docs/device-report.md). Platform-neutral; NHKit's `SelfTestRunner` supplies ImageIO and
/// Core ML. Every case appears exactly once; a failing case carries its error message.
public enum SelfTest {
    public static func run(bundle: NHBundle, engine: EmbeddingEngine, decoder: ImageFileDecoding,
                           bridge: DeviceReport.Bridge, platform: DeviceReport.Platform,
                           maxPixels: Int = DecodeLimits.defaultMaxPixels, now: Date = Date()) throws -> DeviceReport {
        let cases = try bundle.loadSelfTestCases()
        let pipeline = try HashPipeline(bundle: bundle, engine: engine)
        var results: [DeviceReport.CaseResult] = []
        for c in cases.cases {
            do {
                var clock = StageClock()
                let decoded = try decoder.decode(contentsOf: bundle.selfTestURL.appendingPathComponent(c.source), maxPixels: maxPixels)
                let tDecode = clock.lap()
                let r = try pipeline.hash(image: decoded.image, orientation: decoded.orientation, computeDigests: true)
                var timings = r.timings
                timings.decode += tDecode
                // Lossy cases: measure how far the platform decoder moved the resized bytes.
                var deviation: DecodeDeviation?
                if !c.lossless {
                    let resized = pipeline.preprocess(decoded.image, orientation: decoded.orientation).resized
                    let reference = [UInt8](try Data(contentsOf: bundle.selfTestURL.appendingPathComponent(c.rgb360)))
                    deviation = try DecodeDeviation.measure(device: resized.pixels, reference: reference,
                                                            deviceHash: r.hash.hex, expectedHash: c.expected.hash)
                }
                results.append(DeviceReport.CaseResult(
                    id: c.id, digests: r.digests, embedding: FloatHex.encode(r.embedding),
                    projections: FloatHex.encode(r.projections), hash: r.hash.hex,
                    orientation: pipeline.effectiveOrientation(decoded.orientation).rawValue, timingsMs: timings, error: nil,
                    decodeDeviation: deviation, extra: decoded.note.map { ["note": $0] }))
            } catch {
                results.append(DeviceReport.CaseResult(id: c.id, error: "\(error)"))
            }
        }
        let decodeResults = cases.decodeCases.map { list in
            list.map { runDecodeCase($0, bundle: bundle, pipeline: pipeline, decoder: decoder, maxPixels: maxPixels) }
        }
        return DeviceReport(
            bridge: bridge, platform: platform, runtime: engine.runtimeInfo,
            bundle: DeviceReport.BundleInfo(bundle),
            spec: bundle.manifest.spec, created: now, cases: results, decodeCases: decodeResults)
    }

    /// One mode sampler case: spec steps 1-2 with the platform decoder and the decoded digest of
    /// the oriented pixels; a failure becomes the case's `error`.
    public static func runDecodeCase(_ d: SelfTestCases.DecodeCase, bundle: NHBundle, pipeline: HashPipeline,
                                     decoder: ImageFileDecoding, maxPixels: Int = DecodeLimits.defaultMaxPixels)
        -> DeviceReport.DecodeResult {
        do {
            let decoded = try decoder.decode(contentsOf: bundle.selfTestURL.appendingPathComponent(d.source), maxPixels: maxPixels)
            let orientation = pipeline.effectiveOrientation(decoded.orientation)
            let upright = orientation.apply(to: decoded.image)
            return DeviceReport.DecodeResult(id: d.id, decoded: upright.sha256, orientation: orientation.rawValue,
                                             width: upright.width, height: upright.height,
                                             extra: decoded.note.map { ["note": $0] })
        } catch {
            return DeviceReport.DecodeResult(id: d.id, error: "\(error)")
        }
    }

    /// An on-device first look at a report (the authority is `nhkit golden check`): lossless
    /// cases must reproduce all three stage digests and be within `tolerance.hamming` of the
    /// reference hash; lossy cases within `tolerance.lossy_hamming`.
    public struct Verdict: Equatable, Sendable {
        public var id: String
        public var passed: Bool
        public var hamming: Int?
        public var problems: [String]
    }

    public static func evaluate(_ report: DeviceReport, cases: SelfTestCases,
                                tolerance: BundleManifest.Tolerance?) -> [Verdict] {
        let tol = tolerance ?? BundleManifest.Tolerance(hamming: 0, lossyHamming: 0)
        let byID = Dictionary(report.cases.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        return cases.cases.map { c in
            var problems: [String] = []
            var distance: Int?
            guard let r = byID[c.id] else {
                return Verdict(id: c.id, passed: false, hamming: nil, problems: ["case missing from the report"])
            }
            if let e = r.error { problems.append("error: \(e)") }
            if c.lossless {
                if let d = r.digests {
                    if d.decoded != c.digests.decoded { problems.append("decoded digest differs") }
                    if d.resized != c.digests.resized { problems.append("resized digest differs") }
                    if d.tensor != c.digests.tensor { problems.append("tensor digest differs") }
                } else if r.error == nil { problems.append("no digests") }
            }
            if let h = r.hash {
                if let dist = try? NeuralHash96.hamming(h, c.expected.hash) {
                    distance = dist
                    let limit = c.lossless ? tol.hamming : tol.lossyHamming
                    if dist > limit { problems.append("hash is \(dist) bits from the reference (tolerance \(limit))") }
                } else { problems.append("malformed hash \(h)") }
            } else if r.error == nil { problems.append("no hash") }
            return Verdict(id: c.id, passed: problems.isEmpty, hamming: distance, problems: problems)
        } + evaluateDecodeCases(report, cases: cases)
    }

    /// The mode sampler's verdicts: the decode must equal the reference exactly; problems name
    /// the stored mode.
    static func evaluateDecodeCases(_ report: DeviceReport, cases: SelfTestCases) -> [Verdict] {
        let byID = Dictionary((report.decodeCases ?? []).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        return (cases.decodeCases ?? []).map { d in
            let mode = "mode \(d.mode) (\(d.description))"
            guard let r = byID[d.id] else {
                return Verdict(id: d.id, passed: false, hamming: nil, problems: ["\(mode): missing from the report"])
            }
            var problems: [String] = []
            if let e = r.error {
                problems.append("\(mode): error: \(e)")
            } else if r.decoded != d.decoded || r.orientation != d.orientation || r.width != d.width || r.height != d.height {
                problems.append("\(mode): decoded \(r.width ?? 0)x\(r.height ?? 0) orientation \(r.orientation ?? 0), "
                                + "reference \(d.width)x\(d.height) orientation \(d.orientation)"
                                + (r.decoded == d.decoded ? "" : ", digest differs"))
            }
            return Verdict(id: d.id, passed: problems.isEmpty, hamming: nil, problems: problems)
        }
    }
}

#if canImport(CoreML) && canImport(ImageIO)
import CoreGraphics
import CoreML
import Foundation
import ImageIO
import NHCore

/// The one-stop API for apps: open a bundle once, then hash images.
///
/// ```swift
/// let hasher = try await NeuralHasher(bundleURL: Bundle.main.url(forResource: "nhkit-mnv3s-v3.coreml-fp16", withExtension: nil)!)
/// let result = try await hasher.hash(url: photoURL)
/// print(result.hash.hex)            // 24 hex digits
/// ```
///
/// All work runs off the calling actor (these are nonisolated async methods), so calling from
/// the main actor does not block the UI. Thread safety: a hasher is immutable after `init` and
/// `Sendable`; one hasher can serve concurrent calls from any task or thread (Core ML predictions
/// are serialised by `CoreMLEngine`'s lock; decoding and resizing run in parallel).
public final class NeuralHasher: @unchecked Sendable {
    public let bundle: NHBundle
    public let engine: CoreMLEngine
    public let pipeline: HashPipeline
    public let decoder = ImageIODecoder()
    /// Decompression-bomb guard for `hash(url:)` / `hash(data:)` (spec default 100,000,000).
    public let maxPixels: Int

    /// Opens and verifies the bundle (every file's size and sha256), loads the seed and the model
    /// (compiling an `.mlpackage` on first use and caching the result).
    public init(bundleURL: URL, computeUnits: MLComputeUnits = .cpuOnly, verifyChecksums: Bool = true,
                maxPixels: Int = DecodeLimits.defaultMaxPixels) async throws {
        let bundle = try NHBundle(url: bundleURL, verifyChecksums: verifyChecksums)
        let engine = try await CoreMLEngine.load(bundle: bundle, computeUnits: computeUnits)
        self.bundle = bundle
        self.engine = engine
        self.pipeline = try HashPipeline(bundle: bundle, engine: engine)
        self.maxPixels = maxPixels
    }

    /// Hashes an image file (PNG, JPEG, HEIC, ... whatever ImageIO decodes), applying its EXIF
    /// orientation when the bundle's spec says `orientation: apply`.
    public func hash(url: URL, computeDigests: Bool = false) async throws -> HashResult {
        var clock = StageClock()
        let decoded = try decoder.decode(contentsOf: url, maxPixels: maxPixels)
        let tDecode = clock.lap()
        var r = try pipeline.hash(image: decoded.image, orientation: decoded.orientation, computeDigests: computeDigests)
        r.timings.decode += tDecode
        return r
    }

    /// Hashes image file bytes, e.g. the original data of a Photos asset
    /// (`PHImageManager.requestImageDataAndOrientation`): prefer this to a rendered UIImage,
    /// whose pixels have been colour-managed and resampled.
    public func hash(data: Data, computeDigests: Bool = false) async throws -> HashResult {
        var clock = StageClock()
        let decoded = try decoder.decode(data: data, maxPixels: maxPixels)
        let tDecode = clock.lap()
        var r = try pipeline.hash(image: decoded.image, orientation: decoded.orientation, computeDigests: computeDigests)
        r.timings.decode += tDecode
        return r
    }

    /// Hashes a CGImage's stored samples with an explicit EXIF orientation (`.up` = none).
    /// Exact only if `cgImage` holds the decoded file's samples (e.g. from
    /// `CGImageSourceCreateImageAtIndex`), not a redrawn or colour-converted copy.
    public func hash(cgImage: CGImage, orientation: CGImagePropertyOrientation = .up,
                     computeDigests: Bool = false) async throws -> HashResult {
        var clock = StageClock()
        let rgb = try ImageIODecoder.rgb8(from: cgImage)
        let tDecode = clock.lap()
        var r = try pipeline.hash(image: rgb, orientation: Int(orientation.rawValue), computeDigests: computeDigests)
        r.timings.decode += tDecode
        return r
    }

    /// Hashes many files with Swift concurrency (at most `maxConcurrentTasks` at a time), in
    /// input order; a bad file becomes a failed `BatchItem` naming it and the batch goes on.
    /// Cancelling the calling task stops the batch with `CancellationError` (no file is started
    /// after `Task.isCancelled`). Core ML predictions are serialised by the engine's lock, so
    /// extra tasks overlap decoding and resizing.
    public func hash(urls: [URL], maxConcurrentTasks: Int = 2, computeDigests: Bool = false) async throws -> [BatchItem] {
        try await pipeline.hash(files: urls, decoder: decoder, maxPixels: maxPixels,
                                maxConcurrentTasks: maxConcurrentTasks, computeDigests: computeDigests)
    }

    /// Hashes already decoded RGB8 pixels (spec step 1's output) with an EXIF tag.
    public func hash(rgb: RGB8Image, orientation: Int? = nil, computeDigests: Bool = false) async throws -> HashResult {
        try pipeline.hash(image: rgb, orientation: orientation, computeDigests: computeDigests)
    }

    /// Hamming distance between two hashes (0...96).
    public static func distance(_ a: NeuralHash96, _ b: NeuralHash96) -> Int { a.hamming(b) }
}
#endif

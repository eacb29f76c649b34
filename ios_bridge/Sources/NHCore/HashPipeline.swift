import Foundation

/// Spec step 5: an inference engine mapping the preprocessed image to a 128-float embedding.
///
/// `embed` always receives the canonical NCHW float32 tensor `[1, 3, 360, 360]` of spec step 4;
/// an engine whose model wants NHWC converts internally (`Normalise.nchwToNHWC`), so the
/// pipeline never needs to know.
///
/// Thread safety: a pipeline shared across tasks calls `embed` concurrently, so an engine must
/// either be safe for that or serialise calls itself (NHLiteRT's and NHKit's engines take a lock).
public protocol EmbeddingEngine {
    func embed(_ tensor: [Float]) throws -> [Float]
    /// What to write in a device report's `runtime` section.
    var runtimeInfo: DeviceReport.Runtime { get }
}

/// Everything one hash produced. `projections` are always carried so callers can judge
/// fragile bits with their own margin.
public struct HashResult: Equatable, Sendable {
    public var hash: NeuralHash96
    public var projections: [Double]
    public var embedding: [Float]
    /// Fragile mask at the spec's `fragile_margin`.
    public var fragile: NeuralHash96
    /// Stage digests, when requested (they cost a sha256 over the full decoded image).
    public var digests: StageDigests?
    /// Milliseconds; `decode` holds the orientation step (the decoder's own time is the caller's).
    public var timings: DeviceReport.Timings
}

/// The output of spec steps 2-4 for one image.
public struct Preprocessed: Sendable {
    public var oriented: RGB8Image
    public var resized: RGB8Image
    /// Canonical NCHW float32.
    public var tensor: [Float]
}

/// Spec steps 2-7 over an `EmbeddingEngine`: RGB8 + EXIF tag -> orient -> resize -> normalise ->
/// model -> project -> bits.
///
/// Sendable: every stored property is immutable, and the steps it runs are pure functions except
/// the engine, which must be safe to call concurrently (see `EmbeddingEngine`). So one pipeline
/// may be shared by many tasks; `hash(files:...)` (BatchHashing.swift) runs a batch that way.
public final class HashPipeline: @unchecked Sendable {
    public let spec: NHSpec
    public let seed: Seed
    public let engine: EmbeddingEngine

    public init(spec: NHSpec, seed: Seed, engine: EmbeddingEngine) throws {
        try spec.validate()
        self.spec = spec
        self.seed = seed
        self.engine = engine
    }

    /// Uses the bundle's spec and (checksum-verified) seed.
    public convenience init(bundle: NHBundle, engine: EmbeddingEngine) throws {
        try self.init(spec: bundle.manifest.spec, seed: bundle.loadSeed(), engine: engine)
    }

    /// The orientation actually applied: the file's tag with `orientation = apply`, else 1.
    public func effectiveOrientation(_ tag: Int?) -> ExifOrientation {
        spec.orientation == .apply ? ExifOrientation(tag: tag) : .up
    }

    /// Spec steps 2-4.
    public func preprocess(_ image: RGB8Image, orientation tag: Int?) -> Preprocessed {
        let oriented = effectiveOrientation(tag).apply(to: image)
        let resized = BicubicResize.resize(oriented, width: spec.size, height: spec.size)
        return Preprocessed(oriented: oriented, resized: resized, tensor: Normalise.nchw(resized))
    }

    /// Hashes a decoded image (stored 8-bit samples, spec step 1's output) carrying EXIF tag
    /// `orientation` (nil or out of range means 1).
    public func hash(image: RGB8Image, orientation tag: Int? = nil, computeDigests: Bool = false) throws -> HashResult {
        var clock = StageClock()
        let oriented = effectiveOrientation(tag).apply(to: image)
        let tOrient = clock.lap()
        let resized = BicubicResize.resize(oriented, width: spec.size, height: spec.size)
        let tResize = clock.lap()
        let tensor = Normalise.nchw(resized)
        let tNorm = clock.lap()
        var result = try hash(tensor: tensor)
        result.timings.decode = tOrient
        result.timings.resize = tResize
        result.timings.normalise = tNorm
        if computeDigests {
            result.digests = StageDigests(decoded: oriented.sha256, resized: resized.sha256, tensor: Normalise.digest(tensor))
        }
        return result
    }

    /// Steps 5-7 from a canonical NCHW tensor.
    public func hash(tensor: [Float]) throws -> HashResult {
        let n = spec.size
        guard tensor.count == 3 * n * n else {
            throw NHError.invalidImage("tensor has \(tensor.count) values, expected 3x\(n)x\(n)")
        }
        var clock = StageClock()
        let embedding = try engine.embed(tensor)
        let tModel = clock.lap()
        guard embedding.count == spec.embeddingDim else {
            throw NHError.engine("model returned \(embedding.count) values, expected \(spec.embeddingDim)")
        }
        let projections = try Projection.project(seed: seed, embedding: embedding)
        let hash = try Projection.hash(projections: projections)
        let fragile = try Projection.fragileMask(projections: projections, margin: spec.fragileMargin)
        let tProject = clock.lap()
        return HashResult(hash: hash, projections: projections, embedding: embedding, fragile: fragile, digests: nil,
                          timings: DeviceReport.Timings(model: tModel, project: tProject))
    }
}

/// Monotonic stopwatch in milliseconds.
public struct StageClock {
    private var last = DispatchTime.now().uptimeNanoseconds
    public init() {}
    /// Milliseconds since the previous lap (or creation).
    public mutating func lap() -> Double {
        let now = DispatchTime.now().uptimeNanoseconds
        defer { last = now }
        return Double(now - last) / 1e6
    }
}

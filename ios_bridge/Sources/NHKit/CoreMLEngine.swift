// NHKit: the Apple-platform adapters of the nhkit iOS bridge. Everything here is behind
// `canImport` checks, so on Linux this target compiles to an empty module and NHCore carries
// all the platform-neutral, tested logic.
#if canImport(CoreML)
import CoreML
import Foundation
import NHCore

/// Spec step 5 with Core ML: runs a bundle's model on the canonical NCHW tensor.
///
/// - An `.mlpackage` (or `.mlmodel`) is compiled once with `MLModel.compileModel(at:)` and the
///   compiled `.mlmodelc` is cached under Caches/nhkit-compiled/, keyed by the sha256 of the
///   model's files as listed in the (checksum-verified) manifest; later launches load the cache.
///   A bundle may also ship a precompiled `.mlmodelc`, which is loaded directly.
/// - `computeUnits` defaults to `.cpuOnly`: the CPU runs the model in float32 arithmetic, the
///   closest Core ML gets to the export's reference; GPU and Neural Engine compute in float16
///   and drift more (measure with the self-test before shipping another setting).
/// - Predictions are serialised with a lock, so one engine can be shared across tasks.
public final class CoreMLEngine: EmbeddingEngine, @unchecked Sendable {
    public let model: MLModel
    public let manifest: BundleManifest
    public let computeUnits: MLComputeUnits
    /// Where the compiled model was loaded from.
    public let compiledModelURL: URL
    private let lock = NSLock()

    /// Loads (compiling and caching on first use) the model of a verified bundle.
    public static func load(bundle: NHBundle, computeUnits: MLComputeUnits = .cpuOnly,
                            cacheDirectory: URL? = nil) async throws -> CoreMLEngine {
        let manifest = bundle.manifest
        guard manifest.target == "coreml" else {
            throw NHError.engine("bundle \(manifest.bundleID) targets \(manifest.target), not coreml")
        }
        let compiled = try await CompiledModelCache.compiledModel(for: bundle, cacheDirectory: cacheDirectory)
        let config = MLModelConfiguration()
        config.computeUnits = computeUnits
        let model: MLModel
        do {
            model = try MLModel(contentsOf: compiled, configuration: config)
        } catch {
            throw NHError.engine("cannot load \(compiled.path): \(error.localizedDescription)")
        }
        return try CoreMLEngine(model: model, manifest: manifest, computeUnits: computeUnits, compiledModelURL: compiled)
    }

    /// Wraps an already loaded model; checks it has the manifest's input and output.
    public init(model: MLModel, manifest: BundleManifest, computeUnits: MLComputeUnits, compiledModelURL: URL) throws {
        let inputs = model.modelDescription.inputDescriptionsByName
        let outputs = model.modelDescription.outputDescriptionsByName
        guard let inDesc = inputs[manifest.input.name] else {
            throw NHError.engine("model has no input '\(manifest.input.name)' (it has \(inputs.keys.sorted()))")
        }
        guard let outDesc = outputs[manifest.output.name] else {
            throw NHError.engine("model has no output '\(manifest.output.name)' (it has \(outputs.keys.sorted()))")
        }
        switch manifest.input.dtype {
        case "float32", "float16": break
        default:
            throw NHError.engine("Core ML input dtype \(manifest.input.dtype) is not supported (float32 or float16)")
        }
        // The model's own interface must be the manifest's (as the Android engine checks): the
        // input's exact shape and dtype, the output's element count and a float dtype.
        let inIO = try Self.interface(of: inDesc, role: "input")
        guard inIO.shape == manifest.input.shape, inIO.dtype == manifest.input.dtype else {
            throw NHError.engine("model input '\(manifest.input.name)' is \(inIO.dtype) \(inIO.shape), "
                                 + "the manifest says \(manifest.input.dtype) \(manifest.input.shape)")
        }
        let outIO = try Self.interface(of: outDesc, role: "output")
        guard outIO.shape.reduce(1, *) == manifest.output.shape.reduce(1, *), ["float32", "float16", "float64"].contains(outIO.dtype) else {
            throw NHError.engine("model output '\(manifest.output.name)' is \(outIO.dtype) \(outIO.shape), "
                                 + "the manifest says \(manifest.output.dtype) \(manifest.output.shape)")
        }
        self.model = model
        self.manifest = manifest
        self.computeUnits = computeUnits
        self.compiledModelURL = compiledModelURL
    }

    /// A multi-array feature's shape and dtype in manifest terms (`float32`, `float16`, ...).
    static func interface(of desc: MLFeatureDescription, role: String) throws -> (shape: [Int], dtype: String) {
        guard let c = desc.multiArrayConstraint else {
            throw NHError.engine("model \(role) '\(desc.name)' is not a multi-array (feature type \(desc.type.rawValue))")
        }
        return (c.shape.map(\.intValue), dtypeName(c.dataType))
    }

    static func dtypeName(_ t: MLMultiArrayDataType) -> String {
        switch t {
        case .float32: return "float32"
        case .float16: return "float16"
        case .double: return "float64"
        case .int32: return "int32"
        default: return "data type \(t.rawValue)"
        }
    }

    public var runtimeInfo: DeviceReport.Runtime {
        DeviceReport.Runtime(name: "coreml", version: Self.coreMLVersion, computeUnit: Self.name(computeUnits), threads: 0)
    }

    /// Core ML has no version API of its own; it ships with the OS, so the report names the OS
    /// release (e.g. "iOS 17.4"), which identifies the Core ML build exactly.
    static var coreMLVersion: String {
        let v = ProcessInfo.processInfo.operatingSystemVersion
        return "\(DevicePlatform.osName) \(v.majorVersion).\(v.minorVersion).\(v.patchVersion)"
    }

    public static func name(_ units: MLComputeUnits) -> String {
        switch units {
        case .cpuOnly: return "cpuOnly"
        case .cpuAndGPU: return "cpuAndGPU"
        case .all: return "all"
        case .cpuAndNeuralEngine: return "cpuAndNeuralEngine"
        @unknown default: return "unknown(\(units.rawValue))"
        }
    }

    /// `tensor`: canonical NCHW `[1, 3, 360, 360]` float32 (spec step 4).
    public func embed(_ tensor: [Float]) throws -> [Float] {
        let n = NHSpec.inputSize
        guard tensor.count == 3 * n * n else {
            throw NHError.engine("tensor has \(tensor.count) values, expected 3x\(n)x\(n)")
        }
        let input = manifest.input
        let values = input.layout == .nhwc ? Normalise.nchwToNHWC(tensor, height: n, width: n) : tensor
        let array = try makeInputArray(values, spec: input)
        let provider = try MLDictionaryFeatureProvider(dictionary: [input.name: MLFeatureValue(multiArray: array)])
        let result: MLFeatureProvider
        do {
            lock.lock()
            defer { lock.unlock() }
            result = try model.prediction(from: provider)
        } catch {
            throw NHError.engine("prediction failed: \(error.localizedDescription)")
        }
        guard let out = result.featureValue(for: manifest.output.name)?.multiArrayValue else {
            throw NHError.engine("model output '\(manifest.output.name)' is missing or not a multi-array")
        }
        return try Self.readFloats(out)
    }

    /// A multi-array of the manifest's shape holding `values` (row-major in that shape), written
    /// through the array's own strides.
    private func makeInputArray(_ values: [Float], spec: BundleManifest.TensorSpec) throws -> MLMultiArray {
        let shape = spec.shape
        guard shape.reduce(1, *) == values.count else {
            throw NHError.engine("input shape \(shape) does not hold \(values.count) values")
        }
        let half = spec.dtype == "float16"
        let array = try MLMultiArray(shape: shape.map { NSNumber(value: $0) }, dataType: half ? .float16 : .float32)
        array.withUnsafeMutableBytes { raw, strides in
            Self.forEachIndex(shape: shape, strides: strides) { flat, offset in
                if half {
                    raw.storeBytes(of: HalfFloat.bits(values[flat]), toByteOffset: offset * 2, as: UInt16.self)
                } else {
                    raw.storeBytes(of: values[flat], toByteOffset: offset * 4, as: Float.self)
                }
            }
        }
        return array
    }

    /// The values of `array` in row-major order of its shape, read through its strides.
    static func readFloats(_ array: MLMultiArray) throws -> [Float] {
        let shape = array.shape.map(\.intValue)
        let count = shape.reduce(1, *)
        var out = [Float](repeating: 0, count: count)
        let type = array.dataType
        var supported = true
        array.withUnsafeMutableBytes { raw, strides in
            forEachIndex(shape: shape, strides: strides) { flat, offset in
                switch type {
                case .float32:
                    out[flat] = raw.load(fromByteOffset: offset * 4, as: Float.self)
                case .float16:
                    out[flat] = HalfFloat.float(raw.load(fromByteOffset: offset * 2, as: UInt16.self))
                case .double:
                    out[flat] = Float(raw.load(fromByteOffset: offset * 8, as: Double.self))
                default:
                    supported = false
                }
            }
        }
        guard supported else { throw NHError.engine("unsupported output data type \(type.rawValue)") }
        return out
    }

    /// Calls `body(flatRowMajorIndex, elementOffset)` for every element of `shape`.
    static func forEachIndex(shape: [Int], strides: [Int], _ body: (Int, Int) -> Void) {
        let rank = shape.count
        let total = shape.reduce(1, *)
        guard total > 0 else { return }
        var idx = [Int](repeating: 0, count: rank)
        for flat in 0..<total {
            var offset = 0
            for d in 0..<rank { offset += idx[d] * strides[d] }
            body(flat, offset)
            var d = rank - 1
            while d >= 0 {
                idx[d] += 1
                if idx[d] < shape[d] { break }
                idx[d] = 0
                d -= 1
            }
        }
    }
}

/// Compiles `.mlpackage`/`.mlmodel` files once and keeps the `.mlmodelc` in Caches.
public enum CompiledModelCache {
    public static func defaultDirectory() throws -> URL {
        let caches = try FileManager.default.url(for: .cachesDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
        return caches.appendingPathComponent("nhkit-compiled", isDirectory: true)
    }

    /// The cache key: sha256 over the model's manifest entries (path and sha256, in order), so
    /// the same model in any bundle shares one compiled copy, and a changed model never reuses a
    /// stale one.
    public static func key(for manifest: BundleManifest) -> String {
        let model = manifest.model.file
        let lines = manifest.files.filter { $0.path == model || $0.path.hasPrefix(model + "/") }
            .map { "\($0.path)\u{0}\($0.sha256)\n" }.joined()
        return SHA256Digest.hex(Array(lines.utf8))
    }

    public static func compiledModel(for bundle: NHBundle, cacheDirectory: URL? = nil) async throws -> URL {
        let source = bundle.modelURL
        if source.pathExtension == "mlmodelc" { return source }
        guard ["mlpackage", "mlmodel"].contains(source.pathExtension) else {
            throw NHError.engine("\(source.lastPathComponent) is not a Core ML model (.mlpackage, .mlmodel or .mlmodelc)")
        }
        let fm = FileManager.default
        let dir = try cacheDirectory ?? defaultDirectory()
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        let target = dir.appendingPathComponent(key(for: bundle.manifest) + ".mlmodelc", isDirectory: true)
        if fm.fileExists(atPath: target.path) { return target }
        let compiled: URL
        do {
            compiled = try await MLModel.compileModel(at: source)
        } catch {
            throw NHError.engine("cannot compile \(source.path): \(error.localizedDescription)")
        }
        // Move into place atomically: stage next to the target, then rename. If another task
        // won the race, keep its copy.
        let staging = dir.appendingPathComponent(".staging-\(UUID().uuidString).mlmodelc", isDirectory: true)
        do {
            try fm.moveItem(at: compiled, to: staging)
        } catch {
            try fm.copyItem(at: compiled, to: staging)
            try? fm.removeItem(at: compiled)
        }
        do {
            try fm.moveItem(at: staging, to: target)
        } catch {
            try? fm.removeItem(at: staging)
            guard fm.fileExists(atPath: target.path) else { throw error }
        }
        return target
    }
}
#endif

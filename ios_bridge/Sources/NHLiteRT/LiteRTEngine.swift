import CLiteRt
import Foundation
import NHCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Spec step 5 with the real LiteRT runtime (the CompiledModel C API of `libLiteRt`, CPU), for
/// a bundle whose `target` is `tflite`: Linux servers, macOS, and the bridge's own tests.
///
/// At load the model's signature is checked against the manifest: one input and one output,
/// ranked, with the manifest's shape and dtype (float32 or int8), and for int8 tensors the
/// manifest's per-tensor scale and zero point. I/O follows docs/bundle-format.md: an int8 input
/// takes `quantization.lut[v]` for each pixel byte `v` (the reference's own rounding), an int8
/// output is dequantized as `float32(q - zero_point) * float32(scale)`.
///
/// Thread safety: one engine owns one compiled model and one pair of host buffers; `embed`
/// serialises calls with a lock, so an engine may be shared by many threads or tasks (they run
/// one at a time). Use one engine per thread for parallel inference.
public final class LiteRTEngine: EmbeddingEngine, @unchecked Sendable {
    public let library: LiteRTLibrary
    public let manifest: BundleManifest
    public let modelURL: URL

    private let api: NHLiteRtApi
    private var environment: LiteRtEnvironment?
    private var model: LiteRtModel?
    private var compiled: LiteRtCompiledModel?
    private var inputBuffer: LiteRtTensorBuffer?
    private var outputBuffer: LiteRtTensorBuffer?
    private var inputMemory: UnsafeMutableRawPointer?
    private var outputMemory: UnsafeMutableRawPointer?
    private let input: IO
    private let output: IO
    private let lock = NSLock()

    /// What the engine knows about one model tensor (checked equal to the manifest's).
    struct IO {
        var spec: BundleManifest.TensorSpec
        var int8: Bool
        var count: Int
        var scale: Float
        var zeroPoint: Int
        var type: LiteRtRankedTensorType
        var bytes: Int { count * (int8 ? 1 : 4) }
    }

    /// Opens the bundle's `.tflite` with `library` (default: `LiteRTLibrary.open()`).
    public convenience init(bundle: NHBundle, library: LiteRTLibrary? = nil) throws {
        guard bundle.manifest.target == "tflite" else {
            throw NHError.engine("bundle \(bundle.manifest.bundleID) targets \(bundle.manifest.target), not tflite")
        }
        try self.init(modelURL: bundle.modelURL, manifest: bundle.manifest, library: library ?? LiteRTLibrary.open())
    }

    public init(modelURL: URL, manifest: BundleManifest, library: LiteRTLibrary) throws {
        self.library = library
        self.manifest = manifest
        self.modelURL = modelURL
        self.api = library.api
        let path = modelURL.path
        func check(_ status: LiteRtStatus, _ what: String) throws {
            guard status == 0 else { throw NHError.engine("\(path): \(what) failed: \(LiteRTLibrary.describe(status))") }
        }
        // Partially created handles are released by deinit when a later step throws.
        var env: LiteRtEnvironment?
        var mdl: LiteRtModel?
        var cm: LiteRtCompiledModel?
        var opts: LiteRtOptions?
        defer { if let opts { api.DestroyOptions(opts) } }
        var inIO: IO?
        var outIO: IO?
        var failure: Error?
        do {
            try check(api.CreateEnvironment(0, nil, &env), "LiteRtCreateEnvironment")
            try check(api.CreateModelFromFile(env, path, &mdl), "LiteRtCreateModelFromFile")
            var nsig: LiteRtParamIndex = 0
            try check(api.GetNumModelSignatures(mdl, &nsig), "LiteRtGetNumModelSignatures")
            guard nsig >= 1 else { throw NHError.engine("\(path): the model has no signature") }
            var sig: LiteRtSignature?
            try check(api.GetModelSignature(mdl, 0, &sig), "LiteRtGetModelSignature")
            var nin: LiteRtParamIndex = 0, nout: LiteRtParamIndex = 0
            try check(api.GetNumSignatureInputs(sig, &nin), "LiteRtGetNumSignatureInputs")
            try check(api.GetNumSignatureOutputs(sig, &nout), "LiteRtGetNumSignatureOutputs")
            guard nin == 1, nout == 1 else {
                throw NHError.engine("\(path): expected 1 input and 1 output, the model has \(nin) and \(nout)")
            }
            var inTensor: LiteRtTensor?, outTensor: LiteRtTensor?
            try check(api.GetSignatureInputTensorByIndex(sig, 0, &inTensor), "LiteRtGetSignatureInputTensorByIndex")
            try check(api.GetSignatureOutputTensorByIndex(sig, 0, &outTensor), "LiteRtGetSignatureOutputTensorByIndex")
            inIO = try Self.describe(api, inTensor, manifest.input, role: "input", path: path)
            outIO = try Self.describe(api, outTensor, manifest.output, role: "output", path: path)
            try check(api.CreateOptions(&opts), "LiteRtCreateOptions")
            try check(api.SetOptionsHardwareAccelerators(opts, 1 /* kLiteRtHwAcceleratorCpu */), "LiteRtSetOptionsHardwareAccelerators")
            try check(api.CreateCompiledModel(env, mdl, opts, &cm), "LiteRtCreateCompiledModel")
        } catch {
            failure = error
        }
        environment = env
        model = mdl
        compiled = cm
        input = inIO ?? IO(spec: manifest.input, int8: false, count: 0, scale: 0, zeroPoint: 0, type: LiteRtRankedTensorType())
        output = outIO ?? IO(spec: manifest.output, int8: false, count: 0, scale: 0, zeroPoint: 0, type: LiteRtRankedTensorType())
        if let failure { throw failure }
        inputMemory = try Self.alignedAllocate(input.bytes)
        outputMemory = try Self.alignedAllocate(output.bytes)
        var inType = input.type, outType = output.type
        try check(api.CreateTensorBufferFromHostMemory(&inType, inputMemory, Self.rounded(input.bytes), nil, &inputBuffer),
                  "LiteRtCreateTensorBufferFromHostMemory (input)")
        try check(api.CreateTensorBufferFromHostMemory(&outType, outputMemory, Self.rounded(output.bytes), nil, &outputBuffer),
                  "LiteRtCreateTensorBufferFromHostMemory (output)")
    }

    deinit {
        if let inputBuffer { api.DestroyTensorBuffer(inputBuffer) }
        if let outputBuffer { api.DestroyTensorBuffer(outputBuffer) }
        free(inputMemory)
        free(outputMemory)
        if let compiled { api.DestroyCompiledModel(compiled) }
        if let model { api.DestroyModel(model) }
        if let environment { api.DestroyEnvironment(environment) }
    }

    public var runtimeInfo: DeviceReport.Runtime {
        DeviceReport.Runtime(name: "litert", version: library.version, computeUnit: "cpu", threads: 0)
    }

    /// `tensor`: canonical NCHW `[1, 3, 360, 360]` float32 (spec step 4).
    public func embed(_ tensor: [Float]) throws -> [Float] {
        let n = NHSpec.inputSize
        guard tensor.count == 3 * n * n else {
            throw NHError.engine("tensor has \(tensor.count) values, expected 3x\(n)x\(n)")
        }
        lock.lock()
        defer { lock.unlock() }
        var mem: UnsafeMutableRawPointer?
        try run(api.LockTensorBuffer(inputBuffer, &mem, 1 /* write */), "LiteRtLockTensorBuffer (input)")
        guard let dst = mem else { throw NHError.engine("\(modelURL.path): LiteRT returned no input memory") }
        pack(tensor, into: dst)
        try run(api.UnlockTensorBuffer(inputBuffer), "LiteRtUnlockTensorBuffer (input)")
        var ins: [LiteRtTensorBuffer?] = [inputBuffer]
        var outs: [LiteRtTensorBuffer?] = [outputBuffer]
        try run(api.RunCompiledModel(compiled, 0, 1, &ins, 1, &outs), "LiteRtRunCompiledModel")
        mem = nil
        try run(api.LockTensorBuffer(outputBuffer, &mem, 0 /* read */), "LiteRtLockTensorBuffer (output)")
        defer { _ = api.UnlockTensorBuffer(outputBuffer) }
        guard let src = mem else { throw NHError.engine("\(modelURL.path): LiteRT returned no output memory") }
        return unpack(src)
    }

    private func run(_ status: LiteRtStatus, _ what: String) throws {
        guard status == 0 else { throw NHError.engine("\(modelURL.path): \(what) failed: \(LiteRTLibrary.describe(status))") }
    }

    /// NCHW float32 -> the model's layout and dtype.
    private func pack(_ t: [Float], into dst: UnsafeMutableRawPointer) {
        let plane = NHSpec.inputSize * NHSpec.inputSize
        let nhwc = input.spec.layout == .nhwc
        t.withUnsafeBufferPointer { src in
            if input.int8 {
                let out = dst.bindMemory(to: Int8.self, capacity: 3 * plane)
                let q = quantizer
                if nhwc {
                    for p in 0..<plane {
                        out[3 * p] = q.value(src[p]); out[3 * p + 1] = q.value(src[plane + p]); out[3 * p + 2] = q.value(src[2 * plane + p])
                    }
                } else {
                    for i in 0..<3 * plane { out[i] = q.value(src[i]) }
                }
            } else {
                let out = dst.bindMemory(to: Float.self, capacity: 3 * plane)
                if nhwc {
                    for p in 0..<plane {
                        out[3 * p] = src[p]; out[3 * p + 1] = src[plane + p]; out[3 * p + 2] = src[2 * plane + p]
                    }
                } else {
                    out.update(from: src.baseAddress!, count: 3 * plane)
                }
            }
        }
    }

    private func unpack(_ src: UnsafeMutableRawPointer) -> [Float] {
        let n = output.count
        if output.int8 {
            let q = src.bindMemory(to: Int8.self, capacity: n)
            let zp = Int32(output.zeroPoint), scale = output.scale
            return (0..<n).map { Float(Int32(q[$0]) - zp) * scale }
        }
        let f = src.bindMemory(to: Float.self, capacity: n)
        return Array(UnsafeBufferPointer(start: f, count: n))
    }

    private lazy var quantizer = Int8InputQuantizer(spec: manifest.input)

    // MARK: load-time checks

    static func elementName(_ t: LiteRtElementType) -> String {
        switch t {
        case 1: return "float32"
        case 9: return "int8"
        case 10: return "float16"
        case 3: return "uint8"
        case 2: return "int32"
        default: return "element type \(t)"
        }
    }

    /// Reads a tensor's ranked type and quantization and checks them against the manifest.
    static func describe(_ api: NHLiteRtApi, _ tensor: LiteRtTensor?, _ spec: BundleManifest.TensorSpec,
                         role: String, path: String) throws -> IO {
        // Errors name the manifest field at fault (`model.inputs[0].shape`), as every reader does.
        let entry = role == "input" ? "model.inputs[0]" : "model.outputs[0]"
        func fail(_ field: String, _ why: String) -> NHError {
            .engine("\(path): \(entry).\(field): model \(role) \(why) (manifest: '\(spec.name)' \(spec.dtype) \(spec.shape))")
        }
        var typeID: LiteRtTensorTypeId = 0
        guard api.GetTensorTypeId(tensor, &typeID) == 0, typeID == 0 else { throw fail("shape", "is not a ranked tensor") }
        var type = LiteRtRankedTensorType()
        guard api.GetRankedTensorType(tensor, &type) == 0 else { throw fail("dtype", "has no readable type") }
        let rank = Int(nh_litert_rank(&type))
        let dims = withUnsafeBytes(of: type.layout.dimensions) { Array($0.bindMemory(to: Int32.self).prefix(rank)).map(Int.init) }
        // Exactly, outputs too: a device reads the output as the manifest shapes it.
        guard dims == spec.shape else { throw fail("shape", "has shape \(dims)") }
        let dtype = elementName(type.element_type)
        guard dtype == spec.dtype, dtype == "float32" || dtype == "int8" else {
            throw fail("dtype", dtype == spec.dtype ? "has dtype \(dtype), which NHLiteRT does not support (float32 or int8)" : "has dtype \(dtype)")
        }
        var io = IO(spec: spec, int8: dtype == "int8", count: dims.reduce(1, *), scale: 1, zeroPoint: 0, type: type)
        if io.int8 {
            guard let q = spec.quantization else { throw fail("quantization", "is int8 but the manifest has no quantization") }
            var qtype: LiteRtQuantizationTypeId = 0
            var per = LiteRtQuantizationPerTensor()
            guard api.GetQuantizationTypeId(tensor, &qtype) == 0, qtype == 1, api.GetPerTensorQuantization(tensor, &per) == 0 else {
                throw fail("quantization", "is not per-tensor quantized")
            }
            guard per.scale == Float(q.scale), Int(per.zero_point) == q.zeroPoint else {
                throw fail("quantization", "has scale \(per.scale) zero point \(per.zero_point), the manifest says \(Float(q.scale)) and \(q.zeroPoint)")
            }
            if role == "input", let lut = q.lut, lut.count != 256 || lut.contains(where: { $0 < -128 || $0 > 127 }) {
                throw fail("quantization.lut", "must hold 256 int8 values")
            }
            io.scale = per.scale
            io.zeroPoint = Int(per.zero_point)
        }
        return io
    }

    static func rounded(_ n: Int) -> Int {
        let a = Int(NH_LITERT_HOST_MEMORY_ALIGNMENT)
        return (max(n, 1) + a - 1) / a * a
    }

    /// Host memory LiteRT accepts: 64-byte aligned (LITERT_HOST_MEMORY_BUFFER_ALIGNMENT).
    static func alignedAllocate(_ n: Int) throws -> UnsafeMutableRawPointer {
        var p: UnsafeMutableRawPointer?
        guard posix_memalign(&p, Int(NH_LITERT_HOST_MEMORY_ALIGNMENT), rounded(n)) == 0, let p else {
            throw NHError.engine("cannot allocate \(n) bytes of aligned memory")
        }
        memset(p, 0, rounded(n))
        return p
    }
}

/// docs/bundle-format.md's int8 input rule: every spec tensor value is `Normalise.table[v]` for
/// one pixel byte `v`, and the manifest's `lut[v]` is the reference's int8 value for it, so the
/// table is used (any other rounding would differ at the many near-ties at scale 2/255). A value
/// that is no table entry (only reachable by a caller building its own tensor) is quantized as
/// `clamp(round_half_away(float32(t - offset) / float32(scale)) + zero_point, -128, 127)`.
struct Int8InputQuantizer {
    /// The int8 value for each pixel byte 0...255.
    let table: [Int8]
    let scale: Float
    let zeroPoint: Int
    /// What the model adds to its dequantized input (`quantization.offset`, 0 when absent).
    let offset: Float

    init(spec: BundleManifest.TensorSpec) {
        let scale = Float(spec.quantization?.scale ?? 1)
        let zeroPoint = spec.quantization?.zeroPoint ?? 0
        let offset = Float(spec.quantization?.offset ?? 0)
        self.scale = scale
        self.zeroPoint = zeroPoint
        self.offset = offset
        table = (0..<256).map { v in
            spec.quantization?.lut.map { Int8(truncatingIfNeeded: $0[v]) }
                ?? Self.quantize(Normalise.table[v], scale: scale, zeroPoint: zeroPoint, offset: offset)
        }
    }

    @inline(__always) func value(_ t: Float) -> Int8 {
        if t.isFinite {
            let v = Int(((Double(t) + 1) * 127.5).rounded())
            if v >= 0, v <= 255, Normalise.table[v].bitPattern == t.bitPattern { return table[v] }
        }
        return Self.quantize(t, scale: scale, zeroPoint: zeroPoint, offset: offset)
    }

    static func quantize(_ t: Float, scale: Float, zeroPoint: Int, offset: Float = 0) -> Int8 {
        let q32 = (t - offset) / scale   // one binary32 subtraction and one division
        guard !q32.isNaN else { return Int8(clamping: zeroPoint) }
        let a = (abs(Double(q32)) + 0.5).rounded(.down)
        let r = (q32 < 0 ? -a : a) + Double(zeroPoint)
        return Int8(min(127, max(-128, r)))
    }
}

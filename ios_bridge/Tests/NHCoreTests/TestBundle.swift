import Foundation
import XCTest
@testable import NHCore

/// Minimal PNG writer (stored DEFLATE blocks) so tests can make bundles with real PNG files.
enum TestPNGWriter {
    static let crcTable: [UInt32] = (0..<256).map { (n: Int) -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xffff_ffff
        crcTable.withUnsafeBufferPointer { t in
            bytes.withUnsafeBufferPointer { b in
                for x in b { c = t[Int((c ^ UInt32(x)) & 0xff)] ^ (c >> 8) }
            }
        }
        return ~c
    }

    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)] }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let td = Array(type.utf8) + data
        return be32(UInt32(data.count)) + td + be32(crc32(td))
    }

    /// 8-bit RGB PNG, filter 0 rows, with an optional eXIf orientation tag.
    static func png(_ img: RGB8Image, orientation: Int? = nil) -> [UInt8] {
        let stride = img.width * 3
        var raw = [UInt8](repeating: 0, count: img.height * (stride + 1))
        raw.withUnsafeMutableBufferPointer { r in
            img.pixels.withUnsafeBufferPointer { p in
                for y in 0..<img.height {
                    UnsafeMutableRawPointer(r.baseAddress! + y * (stride + 1) + 1)
                        .copyMemory(from: p.baseAddress! + y * stride, byteCount: stride)
                }
            }
        }
        var z: [UInt8] = [0x78, 0x01]
        var i = 0
        repeat {
            let n = min(65535, raw.count - i)
            z.append(i + n == raw.count ? 1 : 0)
            z += [UInt8(n & 0xff), UInt8(n >> 8), UInt8(~n & 0xff), UInt8((~n >> 8) & 0xff)]
            z += raw[i..<(i + n)]
            i += n
        } while i < raw.count
        z += be32(Inflate.adler32(raw))
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        out += chunk("IHDR", be32(UInt32(img.width)) + be32(UInt32(img.height)) + [8, 2, 0, 0, 0])
        if let o = orientation {
            // Little-endian TIFF: header, IFD0 at 8 with one entry (0x0112, SHORT, 1, value).
            let exif: [UInt8] = [0x49, 0x49, 0x2A, 0x00, 0x08, 0, 0, 0, 0x01, 0x00,
                                 0x12, 0x01, 0x03, 0x00, 0x01, 0, 0, 0, UInt8(o), 0, 0, 0, 0, 0, 0, 0]
            out += chunk("eXIf", exif)
        }
        out += chunk("IDAT", z)
        out += chunk("IEND", [])
        return out
    }
}

/// A deterministic stand-in model: embedding[j] = (sum of tensor[i] for i % 128 == j) / 1000.
struct ChecksumEngine: EmbeddingEngine {
    var runtimeInfo: DeviceReport.Runtime { .init(name: "test-checksum", version: "1", computeUnit: "cpu", threads: 1) }
    func embed(_ tensor: [Float]) throws -> [Float] {
        var e = [Float](repeating: 0, count: 128)
        tensor.withUnsafeBufferPointer { t in
            var i = 0
            while i < t.count { e[i & 127] += t[i]; i += 1 }
        }
        return e.map { $0 / 1000 }
    }
}

/// Builds a complete, valid bundle folder in `root` (Core ML layout with a fake package).
struct TestBundle {
    struct Source {
        var id: String
        var image: RGB8Image
        var orientation: Int?
        var lossless = true
    }

    let url: URL
    let seed: Seed
    var manifestObject: [String: Any]

    static func randomSeed(_ s: UInt64) throws -> Seed {
        var state = s
        return try Seed(values: (0..<(96 * 128)).map { _ in Float(Double(splitmixWord(&state) >> 40) / Double(1 << 23) - 1.0) })
    }

    @discardableResult
    static func make(in root: URL, id: String = "test.coreml-fp32", sources: [Source],
                     engine: EmbeddingEngine = ChecksumEngine(), margin: Double = 0.25) throws -> TestBundle {
        let fm = FileManager.default
        let url = root.appendingPathComponent(id)
        try fm.createDirectory(at: url.appendingPathComponent("model.mlpackage/Data/com.apple.CoreML"), withIntermediateDirectories: true)
        try fm.createDirectory(at: url.appendingPathComponent("selftest"), withIntermediateDirectories: true)
        func write(_ rel: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: url.appendingPathComponent(rel)) }
        try write("model.mlpackage/Manifest.json", Array("{\"fileFormatVersion\": \"1.0.0\"}".utf8))
        try write("model.mlpackage/Data/com.apple.CoreML/model.mlmodel", splitmixBytes(seed: 7, count: 3000))
        let seed = try randomSeed(99)
        try seed.f32Data.write(to: url.appendingPathComponent("seed.f32"))
        let spec = NHSpec(orientation: .apply, fragileMargin: margin)
        let pipeline = try HashPipeline(spec: spec, seed: seed, engine: engine)
        var cases: [[String: Any]] = []
        for s in sources {
            try write("selftest/\(s.id).png", TestPNGWriter.png(s.image, orientation: s.orientation))
            let r = try pipeline.hash(image: s.image, orientation: s.orientation, computeDigests: true)
            let pre = pipeline.preprocess(s.image, orientation: s.orientation)
            try write("selftest/\(s.id).rgb360", pre.resized.pixels)
            cases.append([
                "id": s.id, "source": "\(s.id).png", "lossless": s.lossless, "description": "synthetic",
                "orientation": s.orientation ?? 1, "rgb360": "\(s.id).rgb360",
                "digests": ["decoded": r.digests!.decoded, "resized": r.digests!.resized, "tensor": r.digests!.tensor],
                "expected": ["hash": r.hash.hex, "embedding": FloatHex.encode(r.embedding),
                             "projections": FloatHex.encode(r.projections), "fragile": r.fragile.hex],
            ])
        }
        let casesJSON = try JSONSerialization.data(withJSONObject: [
            "format": "nhkit-selftest", "format_version": 1, "bundle_id": id, "cases": cases,
        ] as [String: Any], options: [.sortedKeys])
        try casesJSON.write(to: url.appendingPathComponent("selftest/cases.json"))
        var b = TestBundle(url: url, seed: seed, manifestObject: [:])
        b.manifestObject = [
            "format": "nhkit-bundle", "format_version": 1, "bundle_id": id,
            "spec": ["id": "nh-spec-v1", "orientation": "apply", "resize": "pillow-bicubic-hv", "size": 360,
                     "normalise": "v/255*2-1", "hash_bits": 96, "embedding_dim": 128, "fragile_margin": margin],
            "source_model": ["name": "test", "sha256": String(repeating: "ab", count: 32), "fingerprint": String(repeating: "cd", count: 32)],
            "target": "coreml", "runtime": ["name": "coreml", "min_version": "iOS16"],
            "variant": ["name": "fp32", "precision": "fp32", "compression": "none"],
            "model": ["file": "model.mlpackage",
                      "inputs": [["name": "image", "shape": [1, 3, 360, 360], "dtype": "float32", "layout": "NCHW", "quantization": NSNull()]],
                      "outputs": [["name": "embedding", "shape": [1, 128], "dtype": "float32", "quantization": NSNull()]]],
            "seed": ["file": "seed.f32", "rows": 96, "cols": 128, "dtype": "float32", "byte_order": "little", "sha256": seed.sha256],
            "selftest": ["file": "selftest/cases.json", "cases": sources.count],
            "files": try listFiles(url),
            "drift": ["reference": "onnxruntime-fp32", "images": 1, "photos": 1,
                      "hamming": ["mean": 0.0, "p95": 0, "max": 0], "bit_exact_rate": 1.0,
                      "embedding": ["max_abs_error": 0.0, "cosine_min": 1.0, "cosine_mean": 1.0],
                      "nonfragile_flips": 0, "fragile_flips": 0, "budget": ["mean": 0.0, "max": 0],
                      "passed": true, "overridden": false,
                      "selftest": ["cases": max(1, sources.count), "hamming_max": 0, "nonfragile_max": 0]],
            "tolerance": ["hamming": 0, "lossy_hamming": 6, "nonfragile_flips": 0],
            "tools": ["nhkit": "0.1.0"],
        ]
        try b.writeManifest()
        return b
    }

    /// `files` entries for every file but manifest.json, sorted by path.
    static func listFiles(_ url: URL) throws -> [[String: Any]] {
        try NHBundle.regularFiles(under: url).filter { $0 != "manifest.json" }.map { rel in
            let data = try Data(contentsOf: url.appendingPathComponent(rel))
            return ["path": rel, "sha256": Hex.encode(NHSHA256.digest(data)), "size": data.count]
        }
    }

    func writeManifest() throws {
        let data = try JSONSerialization.data(withJSONObject: manifestObject, options: [.sortedKeys, .prettyPrinted])
        try data.write(to: url.appendingPathComponent("manifest.json"))
    }

    /// Changes the manifest with `edit` and rewrites it.
    mutating func editManifest(_ edit: (inout [String: Any]) -> Void) throws {
        edit(&manifestObject)
        try writeManifest()
    }
}

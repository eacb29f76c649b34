import Foundation

/// The 96x128 float32 projection matrix (spec step 8), row-major: `values[i * 128 + j] = S[i][j]`.
public struct Seed: Equatable, Sendable {
    public static let rows = 96
    public static let cols = 128
    /// nhkit `seed.f32`: the matrix alone.
    public static let f32Bytes = rows * cols * 4
    /// NeuralHash `.dat`: a 128-byte header (ignored) then the matrix.
    public static let datHeaderBytes = 128
    public static let datBytes = datHeaderBytes + f32Bytes

    public let values: [Float]

    /// From 12,288 finite floats, row-major.
    public init(values: [Float], source: String = "<seed>") throws {
        guard values.count == Self.rows * Self.cols else {
            throw NHError.seedFile(path: source, reason: "seed must hold \(Self.rows)x\(Self.cols) values, got \(values.count)")
        }
        try Self.checkFinite(values, source: source)
        self.values = values
    }

    /// Parses the bytes of a `seed.f32` (49,152 B) or NeuralHash `.dat` (49,280 B); the format is
    /// decided by size alone. Any other size, or a NaN/infinite entry, is an error naming `source`.
    public init(data: Data, source: String = "<seed>") throws {
        let payloadOffset: Int
        switch data.count {
        case Self.f32Bytes: payloadOffset = 0
        case Self.datBytes: payloadOffset = Self.datHeaderBytes
        default:
            throw NHError.seedFile(path: source, reason: "seed file has \(data.count) bytes; expected \(Self.datBytes) (NeuralHash .dat: \(Self.datHeaderBytes)-byte header + \(Self.rows)x\(Self.cols) float32) or \(Self.f32Bytes) (nhkit seed.f32)")
        }
        var v = [Float](repeating: 0, count: Self.rows * Self.cols)
        data.withUnsafeBytes { raw in
            for i in 0..<v.count {
                let bits = raw.loadUnaligned(fromByteOffset: payloadOffset + 4 * i, as: UInt32.self)
                v[i] = Float(bitPattern: UInt32(littleEndian: bits))
            }
        }
        try Self.checkFinite(v, source: source)
        self.values = v
    }

    /// Reads a seed file; errors name the file.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw NHError.seedFile(path: url.path, reason: "cannot read seed file: \(error.localizedDescription)")
        }
        try self.init(data: data, source: url.path)
    }

    private static func checkFinite(_ v: [Float], source: String) throws {
        let bad = v.indices.filter { !v[$0].isFinite }
        if let first = bad.first {
            throw NHError.seedFile(path: source, reason: "seed holds \(bad.count) non-finite values (first at row \(first / cols), column \(first % cols): \(v[first]))")
        }
    }

    /// The canonical `seed.f32` bytes (row-major little-endian float32, no header).
    public var f32Data: Data {
        var d = Data(capacity: Self.f32Bytes)
        for x in values {
            withUnsafeBytes(of: x.bitPattern.littleEndian) { d.append(contentsOf: $0) }
        }
        return d
    }

    /// sha256 of the 49,152 matrix bytes (what the manifest's `seed.sha256` records).
    public var sha256: String { SHA256Digest.hex(f32Data) }
}

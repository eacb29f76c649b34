/// A lossy self-test case's distance from the reference (device report `decode_deviation`,
/// docs/device-report.md): a platform's own JPEG/HEIC decoder MAY differ from Pillow (spec, "the
/// same"), so instead of a bare pass/fail the device measures how far: the share of the 360x360x3
/// resized samples that differ from the bundle's `.rgb360`, the largest absolute difference, and
/// the bits the hash flipped against the expected hash. Same numbers as Python's
/// `runtime/decode_deviation.py` and Java's `DecodeDeviation`.
public struct DecodeDeviation: Codable, Equatable, Sendable {
    /// Share (0...1) of the resized samples that differ from the reference.
    public var samplesDiffering: Double
    /// Largest absolute sample difference (0...255).
    public var maxAbsDelta: Int
    /// Hamming distance of the device's hash to the expected hash.
    public var bitsFlipped: Int

    enum CodingKeys: String, CodingKey {
        case samplesDiffering = "samples_differing", maxAbsDelta = "max_abs_delta", bitsFlipped = "bits_flipped"
    }

    public init(samplesDiffering: Double, maxAbsDelta: Int, bitsFlipped: Int) {
        self.samplesDiffering = samplesDiffering
        self.maxAbsDelta = maxAbsDelta
        self.bitsFlipped = bitsFlipped
    }

    public static func measure(device: [UInt8], reference: [UInt8], deviceHash: String,
                               expectedHash: String) throws -> DecodeDeviation {
        guard device.count == reference.count, !device.isEmpty else {
            throw NHError.invalidImage("resized bytes differ in length: \(device.count) vs \(reference.count)")
        }
        var differing = 0, maxDelta = 0
        for i in 0..<device.count {
            let d = abs(Int(device[i]) - Int(reference[i]))
            if d != 0 {
                differing += 1
                maxDelta = max(maxDelta, d)
            }
        }
        return DecodeDeviation(samplesDiffering: Double(differing) / Double(device.count), maxAbsDelta: maxDelta,
                               bitsFlipped: try NeuralHash96.hamming(deviceHash, expectedHash))
    }
}

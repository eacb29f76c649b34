/// An 8-bit RGB image: `height` rows of `width` pixels, each R, G, B (spec step 1's output).
public struct RGB8Image: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// Row-major `R, G, B` bytes, `width * height * 3` of them.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        guard width > 0, height > 0 else {
            throw NHError.invalidImage("dimensions must be positive, got \(width)x\(height)")
        }
        let (n, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, n <= Int.max / 3, pixels.count == n * 3 else {
            throw NHError.invalidImage("\(width)x\(height) RGB8 needs \(width)x\(height)x3 bytes, got \(pixels.count)")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Internal: callers guarantee the size.
    init(unchecked width: Int, _ height: Int, _ pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// sha256 of the row-major RGB bytes (the `decoded` and `resized` stage digests).
    public var sha256: String { SHA256Digest.hex(pixels) }
}

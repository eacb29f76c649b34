/// Spec step 2: the EXIF Orientation tag (0x0112) as an exact pixel permutation, identical to
/// Pillow's `ImageOps.exif_transpose`.
public enum ExifOrientation: Int, CaseIterable, Sendable {
    case up = 1, upMirrored = 2, down = 3, downMirrored = 4
    case leftMirrored = 5, right = 6, rightMirrored = 7, left = 8

    /// A missing tag or a value outside 1..8 means 1.
    public init(tag: Int?) {
        self = tag.flatMap(ExifOrientation.init(rawValue:)) ?? .up
    }

    /// Whether the output has width and height swapped (tags 5..8).
    public var swapsAxes: Bool { rawValue >= 5 }

    /// `out[y][x]` per the spec table, for an input of height H and width W.
    public func apply(to image: RGB8Image) -> RGB8Image {
        if self == .up { return image }
        let W = image.width, H = image.height
        let outW = swapsAxes ? H : W
        let outH = swapsAxes ? W : H
        var out = [UInt8](repeating: 0, count: image.pixels.count)
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                let s = src.baseAddress!, d = dst.baseAddress!
                // For each output pixel, the source index (row-major) is base + x * dx + y * dy.
                let base: Int, dx: Int, dy: Int
                switch self {
                case .up: (base, dx, dy) = (0, 1, W)                                  // in[y][x]
                case .upMirrored: (base, dx, dy) = (W - 1, -1, W)                    // in[y][W-1-x]
                case .down: (base, dx, dy) = ((H - 1) * W + W - 1, -1, -W)           // in[H-1-y][W-1-x]
                case .downMirrored: (base, dx, dy) = ((H - 1) * W, 1, -W)            // in[H-1-y][x]
                case .leftMirrored: (base, dx, dy) = (0, W, 1)                       // in[x][y]
                case .right: (base, dx, dy) = ((H - 1) * W, -W, 1)                   // in[H-1-x][y]
                case .rightMirrored: (base, dx, dy) = ((H - 1) * W + W - 1, -W, -1)  // in[H-1-x][W-1-y]
                case .left: (base, dx, dy) = (W - 1, W, -1)                          // in[x][W-1-y]
                }
                for y in 0..<outH {
                    var si = base + y * dy
                    var di = y * outW * 3
                    for _ in 0..<outW {
                        let p = s + si * 3
                        d[di] = p[0]; d[di + 1] = p[1]; d[di + 2] = p[2]
                        di += 3
                        si += dx
                    }
                }
            }
        }
        return RGB8Image(unchecked: outW, outH, out)
    }
}

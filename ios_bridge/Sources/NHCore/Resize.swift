/// Spec step 3: Pillow's 8-bit BICUBIC convolution, horizontal pass first, then vertical, each
/// channel independently, with the spec's fixed-point arithmetic.
///
/// Exactness notes:
/// - The coefficient arithmetic is binary64 with every operation rounded as written. Swift does
///   not contract `a * b + c` into a fused multiply-add (it emits plain `fmul`/`fadd` without
///   the LLVM `contract` flag; checked with `swiftc -O -emit-ir` and on an FMA-capable target),
///   and the vector tests compare every coefficient with the Python reference.
/// - Accumulation is 32-bit integer arithmetic (`&+`, `&*`: no overflow traps; the sums stay
///   well inside Int32 since |sum k| < 2^23 and samples are <= 255).
public enum BicubicResize {
    /// Fixed-point precision of the integer coefficients (Pillow's PRECISION_BITS).
    public static let precisionBits = 22

    /// The bicubic kernel with a = -0.5, exactly as the spec writes it.
    @inline(never)
    public static func cubic(_ x0: Double) -> Double {
        let a = -0.5
        let x = abs(x0)
        if x < 1.0 {
            return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
        }
        if x < 2.0 {
            return (((x - 5.0) * x + 8.0) * x - 4.0) * a
        }
        return 0.0
    }

    /// One axis of the filter (`n_in` -> `n_out`), with the spec's per-output computation.
    struct AxisFilter {
        let nIn: Int, nOut: Int
        let scale: Double, support: Double, ss: Double
        let ksize: Int

        init(inSize nIn: Int, outSize nOut: Int) {
            precondition(nIn > 0 && nOut > 0, "resize sizes must be positive")
            self.nIn = nIn
            self.nOut = nOut
            scale = Double(nIn) / Double(nOut)
            let filterscale = max(scale, 1.0)
            support = 2.0 * filterscale
            ksize = Int(support.rounded(.up)) * 2 + 1
            ss = 1.0 / filterscale
        }

        /// Output `o`'s taps: writes `count` integer coefficients to `k` (using `w`, `ksize`
        /// doubles of scratch) and returns `(xmin, count)`. Every operation as the spec writes it.
        func taps(_ o: Int, _ k: UnsafeMutablePointer<Int32>, _ w: UnsafeMutablePointer<Double>) -> (xmin: Int, count: Int) {
            let center = (Double(o) + 0.5) * scale
            // Int(Double) truncates toward zero, as the spec's trunc.
            var xmin = Int(center - support + 0.5)
            if xmin < 0 { xmin = 0 }
            var xmax = Int(center + support + 0.5)
            if xmax > nIn { xmax = nIn }
            let count = xmax - xmin
            var ww = 0.0
            for i in 0..<count {
                let v = cubic((Double(xmin + i) - center + 0.5) * ss)
                w[i] = v
                ww = ww + v
            }
            let one22 = Double(1 << precisionBits)
            for i in 0..<count {
                let v = ww != 0.0 ? w[i] / ww : w[i]
                let scaled = v * one22
                k[i] = Int32(v >= 0 ? (scaled + 0.5).rounded(.towardZero) : (scaled - 0.5).rounded(.towardZero))
            }
            return (xmin, count)
        }
    }

    /// The integer filter for one axis: for output `o`, `count[o]` taps starting at input
    /// `xmin[o]`, with coefficients `k[o * ksize ..< o * ksize + count[o]]` (zero-padded).
    public struct Coefficients: Sendable, Equatable {
        public let inSize: Int
        public let outSize: Int
        public let ksize: Int
        public let xmin: [Int]
        public let count: [Int]
        public let k: [Int32]

        public func taps(_ o: Int) -> ArraySlice<Int32> {
            k[(o * ksize)..<(o * ksize + count[o])]
        }
    }

    /// The whole coefficient table of one axis (spec step 3's coefficient computation).
    public static func coefficients(inSize nIn: Int, outSize nOut: Int) -> Coefficients {
        let f = AxisFilter(inSize: nIn, outSize: nOut)
        var xmins = [Int](repeating: 0, count: nOut)
        var counts = [Int](repeating: 0, count: nOut)
        var kk = [Int32](repeating: 0, count: nOut * f.ksize)
        var w = [Double](repeating: 0, count: f.ksize)
        kk.withUnsafeMutableBufferPointer { kb in
            w.withUnsafeMutableBufferPointer { wb in
                for o in 0..<nOut {
                    (xmins[o], counts[o]) = f.taps(o, kb.baseAddress! + o * f.ksize, wb.baseAddress!)
                }
            }
        }
        return Coefficients(inSize: nIn, outSize: nOut, ksize: f.ksize, xmin: xmins, count: counts, k: kk)
    }

    /// Coefficient tables larger than this many entries (16 MiB) are not built; such an axis (a
    /// side over ~1 million pixels) computes each output's taps when it needs them instead.
    static let tableLimit = 1 << 22

    /// Resizes to `width` x `height` (nh-spec-v1 uses 360 x 360). A pass is skipped when that axis
    /// already has the target size, so an input of the target size is returned unchanged.
    ///
    /// Memory stays bounded for any aspect ratio: the horizontal pass is computed one row at a
    /// time and fed straight into the vertical accumulators (the H x width intermediate of the
    /// spec is never stored, so a 1 x 100,000,000 image does not need 100,000,000 x 360 x 3
    /// bytes), and very long axes compute their taps per output instead of as a table. Integer
    /// sums are exact, so the result is byte-identical to the two-pass definition.
    public static func resize(_ image: RGB8Image, width: Int = 360, height: Int = 360) -> RGB8Image {
        resize(image, width: width, height: height, tableLimit: tableLimit)
    }

    static func resize(_ image: RGB8Image, width outW: Int, height outH: Int, tableLimit: Int) -> RGB8Image {
        precondition(outW > 0 && outH > 0, "target size must be positive")
        let W = image.width, H = image.height
        if W == outW && H == outH { return image }
        var source = image            // rows the vertical pass reads (when not streamed)
        var hTable: Coefficients?     // horizontal table, when the pass is streamed row by row
        if W != outW {
            let f = AxisFilter(inSize: W, outSize: outW)
            if outW * f.ksize <= tableLimit {
                hTable = coefficients(inSize: W, outSize: outW)
            } else {
                // Very wide: taps per output, output-major over all rows (H is then small).
                source = horizontalOutputMajor(image, f, outW)
            }
        }
        if H == outH {
            // Horizontal only.
            guard let t = hTable else { return source }
            var out = [UInt8](repeating: 0, count: H * outW * 3)
            image.pixels.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for y in 0..<H { horizontalRow(src.baseAddress! + y * W * 3, dst.baseAddress! + y * outW * 3, t) }
                }
            }
            return RGB8Image(unchecked: outW, H, out)
        }
        return vertical(source: source, hTable: hTable, outW: outW, outH: outH, tableLimit: tableLimit)
    }

    @inline(__always)
    static func clip8(_ acc: Int32) -> UInt8 {
        let v = acc >> Int32(precisionBits)   // arithmetic shift
        return v < 0 ? 0 : (v > 255 ? 255 : UInt8(truncatingIfNeeded: v))
    }

    /// One row of the horizontal pass: `t.outSize` RGB outputs, each sample
    /// `clip8(2^21 + sum in[xmin + i] * k[i])`.
    ///
    /// Performance: raw pointers and `while` loops (no bounds checks, no iterator overhead, fast
    /// even in -Onone builds, so an app's Debug scheme does not take seconds per photo). A 4-lane
    /// SIMD variant measured the same CPU time in release builds and ~15x slower in debug builds
    /// (SIMD generics are not specialised at -Onone), so there is one scalar kernel.
    @inline(__always)
    static func horizontalRow(_ row: UnsafePointer<UInt8>, _ dst: UnsafeMutablePointer<UInt8>, _ t: Coefficients) {
        let bias = Int32(1) << Int32(precisionBits - 1)
        let ksize = t.ksize
        t.k.withUnsafeBufferPointer { kBuf in
        t.xmin.withUnsafeBufferPointer { xminBuf in
        t.count.withUnsafeBufferPointer { countBuf in
            let kp = kBuf.baseAddress!, xmins = xminBuf.baseAddress!, counts = countBuf.baseAddress!
            var d = dst
            for o in 0..<t.outSize {
                let k = kp + o * ksize
                var p = row + xmins[o] * 3
                var r = bias, g = bias, b = bias
                var i = 0
                let n = counts[o]
                while i < n {
                    let w = k[i]
                    r = r &+ Int32(p[0]) &* w
                    g = g &+ Int32(p[1]) &* w
                    b = b &+ Int32(p[2]) &* w
                    p += 3
                    i += 1
                }
                d[0] = clip8(r); d[1] = clip8(g); d[2] = clip8(b)
                d += 3
            }
        }}}
    }

    /// The horizontal pass for very wide images: each output's taps computed once, applied to
    /// every row. Returns the H x outW intermediate.
    static func horizontalOutputMajor(_ image: RGB8Image, _ f: AxisFilter, _ outW: Int) -> RGB8Image {
        let W = image.width, H = image.height
        let bias = Int32(1) << Int32(precisionBits - 1)
        var out = [UInt8](repeating: 0, count: H * outW * 3)
        var k = [Int32](repeating: 0, count: f.ksize)
        var w = [Double](repeating: 0, count: f.ksize)
        image.pixels.withUnsafeBufferPointer { srcBuf in
        out.withUnsafeMutableBufferPointer { dstBuf in
        k.withUnsafeMutableBufferPointer { kBuf in
        w.withUnsafeMutableBufferPointer { wBuf in
            let src = srcBuf.baseAddress!, dst = dstBuf.baseAddress!, kp = kBuf.baseAddress!
            for o in 0..<outW {
                let (xmin, n) = f.taps(o, kp, wBuf.baseAddress!)
                for y in 0..<H {
                    var p = src + (y * W + xmin) * 3
                    var r = bias, g = bias, b = bias
                    var i = 0
                    while i < n {
                        let c = kp[i]
                        r = r &+ Int32(p[0]) &* c
                        g = g &+ Int32(p[1]) &* c
                        b = b &+ Int32(p[2]) &* c
                        p += 3
                        i += 1
                    }
                    let d = dst + (y * outW + o) * 3
                    d[0] = clip8(r); d[1] = clip8(g); d[2] = clip8(b)
                }
            }
        }}}}
        return RGB8Image(unchecked: outW, H, out)
    }

    /// The vertical pass over the rows of the horizontal output, streamed: row y (computed from
    /// `source` with `hTable` when given, else read from `source`) is added into the accumulators
    /// of every output row whose window holds y; an output row is clipped when its window ends.
    /// Windows move monotonically, so the active outputs are a sliding range.
    static func vertical(source: RGB8Image, hTable: Coefficients?, outW: Int, outH: Int, tableLimit: Int) -> RGB8Image {
        let H = source.height, srcW = source.width
        let rowLen = outW * 3
        let f = AxisFilter(inSize: H, outSize: outH)
        let table: Coefficients? = outH * f.ksize <= tableLimit ? coefficients(inSize: H, outSize: outH) : nil
        // Window of every output (cheap even without the table).
        var ymin = [Int](repeating: 0, count: outH), count = [Int](repeating: 0, count: outH)
        if let t = table {
            ymin = t.xmin
            count = t.count
        } else {
            for o in 0..<outH {
                let center = (Double(o) + 0.5) * f.scale
                var lo = Int(center - f.support + 0.5)
                if lo < 0 { lo = 0 }
                var hi = Int(center + f.support + 0.5)
                if hi > H { hi = H }
                ymin[o] = lo
                count[o] = hi - lo
            }
        }
        // Taps of the active outputs when there is no table.
        var onDemand: [Int: [Int32]] = [:]
        var scratch = [Double](repeating: 0, count: table == nil ? f.ksize : 0)
        let bias = Int32(1) << Int32(precisionBits - 1)
        var acc = [Int32](repeating: bias, count: outH * rowLen)
        var out = [UInt8](repeating: 0, count: outH * rowLen)
        var hrow = [UInt8](repeating: 0, count: hTable == nil ? 0 : rowLen)
        var oLo = 0, oHi = 0
        source.pixels.withUnsafeBufferPointer { srcBuf in
        acc.withUnsafeMutableBufferPointer { accBuf in
        out.withUnsafeMutableBufferPointer { outBuf in
        hrow.withUnsafeMutableBufferPointer { hrowBuf in
            let src = srcBuf.baseAddress!, a = accBuf.baseAddress!, dst = outBuf.baseAddress!
            for y in 0..<H {
                let row: UnsafePointer<UInt8>
                if let t = hTable {
                    horizontalRow(src + y * srcW * 3, hrowBuf.baseAddress!, t)
                    row = UnsafePointer(hrowBuf.baseAddress!)
                } else {
                    row = src + y * rowLen
                }
                while oHi < outH && ymin[oHi] <= y {
                    if table == nil {
                        var k = [Int32](repeating: 0, count: f.ksize)
                        k.withUnsafeMutableBufferPointer { kb in
                            scratch.withUnsafeMutableBufferPointer { wb in
                                _ = f.taps(oHi, kb.baseAddress!, wb.baseAddress!)
                            }
                        }
                        onDemand[oHi] = k
                    }
                    oHi += 1
                }
                for o in oLo..<oHi {
                    let i = y - ymin[o]
                    if i >= count[o] { continue }
                    let w: Int32 = table.map { $0.k[o * $0.ksize + i] } ?? onDemand[o]![i]
                    let ao = a + o * rowLen
                    var j = 0
                    while j < rowLen { ao[j] = ao[j] &+ Int32(row[j]) &* w; j += 1 }
                }
                while oLo < oHi && ymin[oLo] + count[oLo] <= y + 1 {
                    let ao = a + oLo * rowLen, d = dst + oLo * rowLen
                    var j = 0
                    while j < rowLen { d[j] = clip8(ao[j]); j += 1 }
                    onDemand[oLo] = nil
                    oLo += 1
                }
            }
        }}}}
        return RGB8Image(unchecked: outW, outH, out)
    }
}

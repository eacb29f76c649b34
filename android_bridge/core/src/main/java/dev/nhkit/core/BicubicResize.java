package dev.nhkit.core;

/**
 * Spec step 3: Pillow's 8-bit BICUBIC convolution, aspect ratio not kept, horizontal pass first
 * (clipped to 8 bits), then vertical; a pass is skipped when its axis already has the target size.
 *
 * <p>Coefficients are computed in binary64 exactly as the spec writes them (Java floating point is
 * strict IEEE-754 and never contracted into fused multiply-adds; since Java 17 {@code strictfp}
 * is the only semantics). Accumulation is 32-bit integer arithmetic: {@code acc = 2^21 +
 * sum in[xmin+i] * k[i]}, {@code out = clamp(acc >> 22, 0, 255)}.
 */
public final class BicubicResize {
    public static final int PRECISION_BITS = 22;

    private BicubicResize() {}

    /** The coefficient table of one axis: per output sample, {@code xmin}, {@code count} and
     * {@code count} 22-bit fixed-point weights (stored with stride {@link #ksize}). */
    public static final class Coefficients {
        public final int nIn;
        public final int nOut;
        public final int ksize;
        final int[] xmin;
        final int[] count;
        /** {@code k[o * ksize + i]}, zero beyond {@code count[o]}. */
        final int[] k;

        Coefficients(int nIn, int nOut, int ksize, int[] xmin, int[] count, int[] k) {
            this.nIn = nIn;
            this.nOut = nOut;
            this.ksize = ksize;
            this.xmin = xmin;
            this.count = count;
            this.k = k;
        }

        public int xmin(int o) {
            return xmin[o];
        }

        public int count(int o) {
            return count[o];
        }

        /** The {@code count(o)} weights of output {@code o}. */
        public int[] weights(int o) {
            int[] out = new int[count[o]];
            System.arraycopy(k, o * ksize, out, 0, out.length);
            return out;
        }
    }

    /** Pillow's bicubic kernel, {@code a = -0.5}, each operation rounded in binary64 as written. */
    static double cubic(double x) {
        final double a = -0.5;
        if (x < 0.0) {
            x = -x;
        }
        if (x < 1.0) {
            return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
        }
        if (x < 2.0) {
            return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
        }
        return 0.0;
    }

    /** One axis's parameters; computes the coefficients of one output sample at a time. */
    static final class Axis {
        final int nIn;
        final int nOut;
        final double scale;
        final double support;
        final double ss;
        final int ksize;
        private final double[] w;

        Axis(int nIn, int nOut) {
            if (nIn < 1 || nOut < 1) {
                throw new IllegalArgumentException("axis lengths must be >= 1, got n_in=" + nIn
                        + ", n_out=" + nOut);
            }
            this.nIn = nIn;
            this.nOut = nOut;
            this.scale = (double) nIn / (double) nOut;
            final double filterscale = Math.max(scale, 1.0);
            this.support = 2.0 * filterscale;
            this.ksize = (int) Math.ceil(support) * 2 + 1;
            this.ss = 1.0 / filterscale;
            this.w = new double[ksize];
        }

        /**
         * The spec's weights of output {@code o}: writes {@code count} fixed-point coefficients
         * to {@code k[kOff..]} and returns {@code xmin}; the count is {@link #lastCount}.
         */
        int row(int o, int[] k, int kOff) {
            final double one = (double) (1 << PRECISION_BITS);
            double center = (o + 0.5) * scale;
            // (int) truncates toward zero, like C and the spec's trunc().
            int xmin = (int) (center - support + 0.5);
            if (xmin < 0) {
                xmin = 0;
            }
            int xmax = (int) (center + support + 0.5);
            if (xmax > nIn) {
                xmax = nIn;
            }
            int count = xmax - xmin;
            double ww = 0.0;
            for (int i = 0; i < count; i++) {
                double v = cubic(((double) (xmin + i) - center + 0.5) * ss);
                w[i] = v;
                ww = ww + v;
            }
            if (ww != 0.0) {
                for (int i = 0; i < count; i++) {
                    w[i] = w[i] / ww;
                }
            }
            for (int i = 0; i < count; i++) {
                double v = w[i];
                k[kOff + i] = v >= 0.0 ? (int) (v * one + 0.5) : (int) (v * one - 0.5);
            }
            lastCount = count;
            return xmin;
        }

        int lastCount;
    }

    /** The spec's coefficient table for resampling {@code nIn} samples to {@code nOut}. */
    public static Coefficients coefficients(int nIn, int nOut) {
        Axis a = new Axis(nIn, nOut);
        if ((long) nOut * a.ksize > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("coefficient table for " + nIn + " -> " + nOut
                    + " is too large for one array");
        }
        int[] xminArr = new int[nOut];
        int[] countArr = new int[nOut];
        int[] k = new int[nOut * a.ksize];
        for (int o = 0; o < nOut; o++) {
            xminArr[o] = a.row(o, k, o * a.ksize);
            countArr[o] = a.lastCount;
        }
        return new Coefficients(nIn, nOut, a.ksize, xminArr, countArr, k);
    }

    /**
     * Largest coefficient table (entries) built up front. Beyond it (extreme aspect ratios such as
     * 1 x 16,777,217, legal under the 100 MP limit) each output's coefficients are computed just
     * before use instead, with identical results and memory proportional to one row.
     */
    static long maxTableEntries = 4_000_000L;

    /** Resizes to the spec's 360 x 360 on the calling thread. */
    public static RgbImage resizeTo360(RgbImage in) {
        return resize(in, Spec.SIZE, Spec.SIZE, 1);
    }

    /** Resizes to the spec's 360 x 360; see {@link #resize(RgbImage, int, int, int)}. */
    public static RgbImage resizeTo360(RgbImage in, int threads) {
        return resize(in, Spec.SIZE, Spec.SIZE, threads);
    }

    /** {@link #resize(RgbImage, int, int, int)} on the calling thread. */
    public static RgbImage resize(RgbImage in, int outW, int outH) {
        return resize(in, outW, outH, 1);
    }

    /**
     * Resizes {@code in} to {@code outW x outH}: horizontal pass (H x W -> H x outW, clipped to
     * 8 bits) then vertical pass (-> outH x outW). An axis that already has its target size is not
     * resampled; an image that already has the target size is returned as a copy.
     *
     * @param threads with 2 or more, the horizontal pass of a large image runs in bands of rows on
     *     that many threads (rows are independent, so the result is identical)
     */
    public static RgbImage resize(RgbImage in, int outW, int outH, int threads) {
        if (outW < 1 || outH < 1) {
            throw new IllegalArgumentException("target size must be >= 1x1, got " + outW + "x" + outH);
        }
        int w = in.width();
        int h = in.height();
        byte[] cur = in.pixels();
        if (w != outW && h != outH && (long) h * outW * 3 > maxIntermediateBytes) {
            // Very tall (e.g. 1 x 2,000,000, legal under the 100 MP limit): the H x outW
            // intermediate would not fit in one Java array, or would waste memory on a phone.
            return new RgbImage(outW, outH, fused(cur, w, h, outW, outH));
        }
        if (w != outW) {
            Axis a = new Axis(w, outW);
            cur = (long) outW * a.ksize <= maxTableEntries
                    ? horizontal(cur, w, h, coefficients(w, outW), threads)
                    : horizontalStreaming(cur, w, h, a);
        } else if (h == outH) {
            return new RgbImage(w, h, cur.clone());
        }
        if (h != outH) {
            Axis a = new Axis(h, outH);
            cur = (long) outH * a.ksize <= maxTableEntries
                    ? vertical(cur, outW, h, coefficients(h, outH))
                    : verticalStreaming(cur, outW, h, a);
        }
        return new RgbImage(outW, outH, cur);
    }

    /**
     * Largest H x outW x 3 intermediate (bytes) the two-pass path allocates. Beyond it the passes
     * are fused row by row ({@link #fused}): identical bytes, memory proportional to the output.
     */
    static long maxIntermediateBytes = 64L << 20;

    /**
     * Both passes without the intermediate image: each input row is resized horizontally (and
     * clipped to 8 bits, as the spec's intermediate is) and immediately added, with its vertical
     * weight, to the accumulators of the few outputs whose window holds it. Integer addition is
     * exact and order-free, so every accumulator ends with the same value as in
     * {@link #vertical}; the result is byte-identical to the two-pass path.
     */
    static byte[] fused(byte[] src, int w, int h, int outW, int outH) {
        final Coefficients hc = coefficients(w, outW);
        final Axis va = new Axis(h, outH);
        final int row = outW * 3;
        final int half = 1 << (PRECISION_BITS - 1);
        final int[] acc = new int[outH * row];
        java.util.Arrays.fill(acc, half);
        final byte[] dst = new byte[outH * row];
        final byte[] hrow = new byte[row];
        final int[] ymin = new int[outH];
        final int[][] taps = new int[outH][];   // weights of the outputs currently open
        final int[] scratch = new int[va.ksize];
        int oLo = 0; // first output not yet finished
        int oHi = 0; // first output not yet opened
        for (int y = 0; y < h; y++) {
            horizontalRows(src, w, hc, hrow, y, y + 1, 0);
            while (oHi < outH && windowStart(va, oHi) <= y) {
                ymin[oHi] = va.row(oHi, scratch, 0);
                taps[oHi] = java.util.Arrays.copyOf(scratch, va.lastCount);
                oHi++;
            }
            for (int o = oLo; o < oHi; o++) {
                final int i = y - ymin[o];
                if (i >= taps[o].length) {
                    continue;
                }
                final int kk = taps[o][i];
                final int ab = o * row;
                for (int j = 0; j < row; j++) {
                    acc[ab + j] += (hrow[j] & 0xff) * kk;
                }
            }
            while (oLo < oHi && ymin[oLo] + taps[oLo].length <= y + 1) {
                finish(acc, dst, oLo * row, row);
                taps[oLo] = null;
                oLo++;
            }
        }
        for (; oLo < outH; oLo++) { // (every window ends by row h, so none is left; defensive)
            finish(acc, dst, oLo * row, row);
        }
        return dst;
    }

    /** The spec's {@code xmin} of vertical output {@code o} (without computing its weights). */
    private static int windowStart(Axis a, int o) {
        double center = (o + 0.5) * a.scale;
        int xmin = (int) (center - a.support + 0.5);
        return xmin < 0 ? 0 : xmin;
    }

    private static void finish(int[] acc, byte[] dst, int off, int n) {
        for (int j = 0; j < n; j++) {
            dst[off + j] = clip8(acc[off + j]);
        }
    }

    /** Smallest band of rows worth a thread of its own. */
    private static final int MIN_BAND_ROWS = 64;

    /** H x W x 3 -> H x c.nOut x 3, optionally in bands of rows on several threads. */
    static byte[] horizontal(final byte[] src, final int w, final int h, final Coefficients c,
            int threads) {
        final byte[] dst = new byte[h * c.nOut * 3];
        int bands = Math.max(1, Math.min(threads, h / MIN_BAND_ROWS));
        if (bands == 1 || (long) w * h < 1_000_000L) {
            horizontalRows(src, w, c, dst, 0, h);
            return dst;
        }
        Thread[] helpers = new Thread[bands - 1];
        final Throwable[] failure = new Throwable[1];
        for (int b = 1; b < bands; b++) {
            final int y0 = (int) ((long) h * b / bands);
            final int y1 = (int) ((long) h * (b + 1) / bands);
            helpers[b - 1] = new Thread(new Runnable() {
                @Override
                public void run() {
                    try {
                        horizontalRows(src, w, c, dst, y0, y1);
                    } catch (Throwable t) {
                        synchronized (failure) {
                            failure[0] = t;
                        }
                    }
                }
            }, "nhkit-resize-" + b);
            helpers[b - 1].start();
        }
        horizontalRows(src, w, c, dst, 0, h / bands);
        boolean interrupted = false;
        for (Thread t : helpers) {
            while (true) {
                try {
                    t.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true; // finish the work first: dst must be complete
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        synchronized (failure) {
            if (failure[0] instanceof RuntimeException) {
                throw (RuntimeException) failure[0];
            }
            if (failure[0] instanceof Error) {
                throw (Error) failure[0];
            }
        }
        return dst;
    }

    /**
     * Rows {@code y0 .. y1-1} of the horizontal pass. Each input row is first split into three
     * int planes (R, G, B) so the tap loops run over contiguous ints without byte masking.
     */
    static void horizontalRows(byte[] src, int w, Coefficients c, byte[] dst, int y0, int y1) {
        horizontalRows(src, w, c, dst, y0, y1, y0 * c.nOut * 3);
    }

    /** As above, with row {@code y0} written at {@code dst[dstOff]} and the others after it. */
    static void horizontalRows(byte[] src, int w, Coefficients c, byte[] dst, int y0, int y1,
            int dstOff) {
        final int outW = c.nOut;
        final int ks = c.ksize;
        final int[] xmin = c.xmin;
        final int[] count = c.count;
        final int[] k = c.k;
        final int half = 1 << (PRECISION_BITS - 1);
        final int[] rp = new int[w];
        final int[] gp = new int[w];
        final int[] bp = new int[w];
        for (int y = y0; y < y1; y++) {
            for (int x = 0, p = (int) ((long) y * w * 3); x < w; x++, p += 3) {
                rp[x] = src[p] & 0xff;
                gp[x] = src[p + 1] & 0xff;
                bp[x] = src[p + 2] & 0xff;
            }
            int o3 = dstOff + (y - y0) * outW * 3;
            for (int o = 0; o < outW; o++, o3 += 3) {
                int r = half;
                int g = half;
                int b = half;
                final int x0 = xmin[o];
                final int x1 = x0 + count[o];
                final int kb = o * ks - x0; // k[kb + x] is the weight of input sample x
                for (int x = x0; x < x1; x++) {
                    final int kk = k[kb + x];
                    r += rp[x] * kk;
                    g += gp[x] * kk;
                    b += bp[x] * kk;
                }
                dst[o3] = clip8(r);
                dst[o3 + 1] = clip8(g);
                dst[o3 + 2] = clip8(b);
            }
        }
    }

    /** H x W x 3 -> c.nOut x W x 3 (W here is the already-resized width). */
    static byte[] vertical(byte[] src, int w, int h, Coefficients c) {
        final int outH = c.nOut;
        final int ks = c.ksize;
        final int row = w * 3;
        final byte[] dst = new byte[outH * row];
        final int[] acc = new int[row];
        final int half = 1 << (PRECISION_BITS - 1);
        for (int o = 0; o < outH; o++) {
            java.util.Arrays.fill(acc, half);
            final int ymin = c.xmin[o];
            final int n = c.count[o];
            final int kb = o * ks;
            for (int i = 0; i < n; i++) {
                final int kk = c.k[kb + i];
                final int base = (ymin + i) * row;
                for (int j = 0; j < row; j++) {
                    acc[j] += (src[base + j] & 0xff) * kk;
                }
            }
            final int ob = o * row;
            for (int j = 0; j < row; j++) {
                dst[ob + j] = clip8(acc[j]);
            }
        }
        return dst;
    }

    /** The horizontal pass output by output, coefficients computed on the fly (huge ksize). */
    static byte[] horizontalStreaming(byte[] src, int w, int h, Axis a) {
        final int outW = a.nOut;
        final byte[] dst = new byte[h * outW * 3];
        final int[] k = new int[a.ksize];
        final int half = 1 << (PRECISION_BITS - 1);
        for (int o = 0; o < outW; o++) {
            final int xmin = a.row(o, k, 0);
            final int n = a.lastCount;
            for (int y = 0; y < h; y++) {
                int r = half;
                int g = half;
                int b = half;
                int p = (y * w + xmin) * 3;
                for (int i = 0; i < n; i++, p += 3) {
                    final int kk = k[i];
                    r += (src[p] & 0xff) * kk;
                    g += (src[p + 1] & 0xff) * kk;
                    b += (src[p + 2] & 0xff) * kk;
                }
                final int d = (y * outW + o) * 3;
                dst[d] = clip8(r);
                dst[d + 1] = clip8(g);
                dst[d + 2] = clip8(b);
            }
        }
        return dst;
    }

    /** The vertical pass with coefficients computed on the fly (huge ksize). */
    static byte[] verticalStreaming(byte[] src, int w, int h, Axis a) {
        final int outH = a.nOut;
        final int row = w * 3;
        final byte[] dst = new byte[outH * row];
        final int[] acc = new int[row];
        final int[] k = new int[a.ksize];
        final int half = 1 << (PRECISION_BITS - 1);
        for (int o = 0; o < outH; o++) {
            java.util.Arrays.fill(acc, half);
            final int ymin = a.row(o, k, 0);
            final int n = a.lastCount;
            for (int i = 0; i < n; i++) {
                final int kk = k[i];
                final int base = (ymin + i) * row;
                for (int j = 0; j < row; j++) {
                    acc[j] += (src[base + j] & 0xff) * kk;
                }
            }
            final int ob = o * row;
            for (int j = 0; j < row; j++) {
                dst[ob + j] = clip8(acc[j]);
            }
        }
        return dst;
    }

    private static byte clip8(int acc) {
        int v = acc >> PRECISION_BITS;
        if (v < 0) {
            return 0;
        }
        if (v > 255) {
            return (byte) 255;
        }
        return (byte) v;
    }
}

package dev.nhkit.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotSame;
import static org.junit.Assert.assertSame;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

import org.junit.Test;

/**
 * Checks the fast core code against slow, independent ports of the spec's formulas (per output
 * sample, no tables, no planes), on shapes the shared vectors do not cover.
 */
public class ResizeOrientTensorTest {
    /** Spec section 3, written out per output sample from the text (the oracle). */
    static int[] slowAxis(int[] in, int nIn, int nOut) {
        double scale = (double) nIn / (double) nOut;
        double filterscale = Math.max(scale, 1.0);
        double support = 2.0 * filterscale;
        double ss = 1.0 / filterscale;
        int[] out = new int[nOut];
        for (int o = 0; o < nOut; o++) {
            double center = (o + 0.5) * scale;
            int xmin = Math.max((int) (center - support + 0.5), 0);
            int xmax = Math.min((int) (center + support + 0.5), nIn);
            int count = xmax - xmin;
            double[] w = new double[count];
            double ww = 0.0;
            for (int i = 0; i < count; i++) {
                w[i] = BicubicResize.cubic(((xmin + i) - center + 0.5) * ss);
                ww += w[i];
            }
            int acc = 1 << 21;
            for (int i = 0; i < count; i++) {
                double v = ww != 0.0 ? w[i] / ww : w[i];
                int k = v >= 0 ? (int) (v * 4194304.0 + 0.5) : (int) (v * 4194304.0 - 0.5);
                acc += in[xmin + i] * k;
            }
            out[o] = Math.min(255, Math.max(0, acc >> 22));
        }
        return out;
    }

    static RgbImage slowResize(RgbImage img, int outW, int outH) {
        int w = img.width();
        int h = img.height();
        int[][][] cur = new int[h][w][3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                for (int c = 0; c < 3; c++) {
                    cur[y][x][c] = img.sample(y, x, c);
                }
            }
        }
        if (w != outW) {
            int[][][] next = new int[h][outW][3];
            for (int y = 0; y < h; y++) {
                for (int c = 0; c < 3; c++) {
                    int[] line = new int[w];
                    for (int x = 0; x < w; x++) {
                        line[x] = cur[y][x][c];
                    }
                    int[] r = slowAxis(line, w, outW);
                    for (int x = 0; x < outW; x++) {
                        next[y][x][c] = r[x];
                    }
                }
            }
            cur = next;
            w = outW;
        }
        if (h != outH) {
            int[][][] next = new int[outH][w][3];
            for (int x = 0; x < w; x++) {
                for (int c = 0; c < 3; c++) {
                    int[] line = new int[h];
                    for (int y = 0; y < h; y++) {
                        line[y] = cur[y][x][c];
                    }
                    int[] r = slowAxis(line, h, outH);
                    for (int y = 0; y < outH; y++) {
                        next[y][x][c] = r[y];
                    }
                }
            }
            cur = next;
            h = outH;
        }
        byte[] px = new byte[outW * outH * 3];
        for (int y = 0; y < outH; y++) {
            for (int x = 0; x < outW; x++) {
                for (int c = 0; c < 3; c++) {
                    px[(y * outW + x) * 3 + c] = (byte) cur[y][x][c];
                }
            }
        }
        return new RgbImage(outW, outH, px);
    }

    @Test
    public void fastResizeEqualsTheSlowOracle() {
        Random rnd = new Random(11);
        int[][] shapes = {{1, 1}, {2, 3}, {361, 2}, {3, 719}, {999, 1001}, {360, 1200}, {1500, 360},
            {4, 4}, {723, 541}};
        for (int[] s : shapes) {
            RgbImage img = TestSupport.randomImage(rnd, s[0], s[1]);
            RgbImage fast = BicubicResize.resizeTo360(img);
            RgbImage slow = slowResize(img, 360, 360);
            assertArrayEquals(s[0] + "x" + s[1], slow.pixels(), fast.pixels());
        }
        // Other targets (the core resizes to any size; the spec uses 360).
        RgbImage img = TestSupport.randomImage(rnd, 97, 45);
        assertArrayEquals(slowResize(img, 13, 200).pixels(), BicubicResize.resize(img, 13, 200).pixels());
    }

    @Test
    public void threadedResizeIsIdentical() {
        RgbImage img = TestSupport.randomImage(new Random(3), 1601, 1203);
        byte[] one = BicubicResize.resizeTo360(img, 1).pixels();
        assertArrayEquals(one, BicubicResize.resizeTo360(img, 2).pixels());
        assertArrayEquals(one, BicubicResize.resizeTo360(img, 3).pixels());
    }

    @Test
    public void streamingCoefficientsGiveTheSameBytes() {
        Random rnd = new Random(12);
        RgbImage wide = TestSupport.randomImage(rnd, 2900, 7);
        RgbImage tall = TestSupport.randomImage(rnd, 5, 3100);
        byte[] wideTable = BicubicResize.resizeTo360(wide).pixels();
        byte[] tallTable = BicubicResize.resizeTo360(tall).pixels();
        long saved = BicubicResize.maxTableEntries;
        try {
            BicubicResize.maxTableEntries = 0; // force the per-output path
            assertArrayEquals(wideTable, BicubicResize.resizeTo360(wide).pixels());
            assertArrayEquals(tallTable, BicubicResize.resizeTo360(tall).pixels());
            assertArrayEquals(slowResize(wide, 360, 360).pixels(), wideTable);
        } finally {
            BicubicResize.maxTableEntries = saved;
        }
        // An extreme aspect ratio whose table would be large (3,000,001 x 1: ksize 33,337): the
        // per-output path runs; compare one output column with the slow oracle.
        RgbImage line = TestSupport.randomImage(rnd, 3_000_001, 1);
        RgbImage out = BicubicResize.resizeTo360(line);
        assertEquals(360, out.height());
        assertEquals(360, out.width());
        int[] red = new int[line.width()];
        for (int x = 0; x < red.length; x++) {
            red[x] = line.sample(0, x, 0);
        }
        int[] want = slowAxis(red, red.length, 360);
        for (int x = 0; x < 360; x++) {
            assertEquals("x=" + x, want[x], out.sample(0, x, 0));
            assertEquals(out.sample(0, x, 0), out.sample(359, x, 0)); // 1 row upscaled: constant
        }
    }

    @Test
    public void fusedPassesGiveTheSameBytesAsTwoPasses() {
        Random rnd = new Random(13);
        int[][] shapes = {{5, 3100}, {2, 2}, {361, 359}, {1000, 700}, {3, 9000}, {700, 1000}};
        long saved = BicubicResize.maxIntermediateBytes;
        for (int[] s : shapes) {
            RgbImage img = TestSupport.randomImage(rnd, s[0], s[1]);
            byte[] twoPass = BicubicResize.resizeTo360(img).pixels();
            try {
                BicubicResize.maxIntermediateBytes = 0; // force the fused path
                assertArrayEquals(s[0] + "x" + s[1], twoPass, BicubicResize.resizeTo360(img).pixels());
                assertArrayEquals(s[0] + "x" + s[1] + " to 13x200",
                        BicubicResize.resize(img, 13, 200).pixels(), slowResize(img, 13, 200).pixels());
            } finally {
                BicubicResize.maxIntermediateBytes = saved;
            }
        }
    }

    @Test
    public void twoMillionRowsHash() {
        // 1 x 2,000,000 is legal under the 100 MP limit, and its 2,000,000 x 360 intermediate
        // (2.16 GB) cannot be one Java array. Width 1 -> 360 copies the sample (one tap of
        // weight 2^22), so the expected output is the vertical resize of the column: the slow
        // oracle on one channel at a time.
        int h = 2_000_000;
        RgbImage img = TestSupport.randomImage(new Random(14), 1, h);
        RgbImage out = BicubicResize.resizeTo360(img);
        for (int ch = 0; ch < 3; ch++) {
            int[] col = new int[h];
            for (int y = 0; y < h; y++) {
                col[y] = img.sample(y, 0, ch);
            }
            int[] want = slowAxis(col, h, 360);
            for (int y = 0; y < 360; y++) {
                assertEquals("y=" + y + " ch=" + ch, want[y], out.sample(y, 0, ch));
                assertEquals(out.sample(y, 0, ch), out.sample(y, 359, ch));
            }
        }
    }

    @Test
    public void identitySizeIsACopy() {
        RgbImage img = TestSupport.randomImage(new Random(4), 360, 360);
        RgbImage out = BicubicResize.resizeTo360(img);
        assertNotSame(img.pixels(), out.pixels());
        assertArrayEquals(img.pixels(), out.pixels());
    }

    @Test
    public void orientationMatchesTheSpecTable() {
        Random rnd = new Random(8);
        RgbImage in = TestSupport.randomImage(rnd, 7, 4);
        int h = in.height();
        int w = in.width();
        for (int tag = 1; tag <= 8; tag++) {
            RgbImage out = Orientation.apply(in, tag);
            boolean swap = tag >= 5;
            assertEquals(swap ? w : h, out.height());
            assertEquals(swap ? h : w, out.width());
            for (int y = 0; y < out.height(); y++) {
                for (int x = 0; x < out.width(); x++) {
                    int sy;
                    int sx;
                    switch (tag) {
                        case 1: sy = y; sx = x; break;
                        case 2: sy = y; sx = w - 1 - x; break;
                        case 3: sy = h - 1 - y; sx = w - 1 - x; break;
                        case 4: sy = h - 1 - y; sx = x; break;
                        case 5: sy = x; sx = y; break;
                        case 6: sy = h - 1 - x; sx = y; break;
                        case 7: sy = h - 1 - x; sx = w - 1 - y; break;
                        default: sy = x; sx = w - 1 - y; break;
                    }
                    for (int c = 0; c < 3; c++) {
                        assertEquals("tag " + tag + " [" + y + "][" + x + "]", in.sample(sy, sx, c),
                                out.sample(y, x, c));
                    }
                }
            }
        }
        assertSame(in, Orientation.apply(in, 0));
        assertSame(in, Orientation.apply(in, 9));
        assertSame(in, Orientation.apply(in, -1));
    }

    @Test
    public void rgbaConversionDropsAlphaAndHonoursRowStride() {
        // 2x2 pixels, 12 bytes per row (4 bytes padding), alpha values must not leak.
        byte[] rgba = {1, 2, 3, 0, 4, 5, 6, (byte) 255, 9, 9, 9, 9,
            7, 8, 9, 10, 10, 11, 12, 0, 9, 9, 9, 9};
        RgbImage img = RgbImage.fromRgba(rgba, 2, 2, 12);
        assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, img.pixels());
    }

    @Test
    public void packsNhwcAndInt8LikeThePythonBackend() {
        RgbImage img = TestSupport.randomImage(new Random(6), 360, 360);
        float[] nchw = Normalise.toNchw(img);
        ModelIO nhwc = ModelIO.floatInput(Layout.NHWC);
        ByteBuffer buf = ByteBuffer.allocate(nhwc.byteCount()).order(ByteOrder.LITTLE_ENDIAN);
        TensorPacker.pack(nchw, nhwc, buf);
        buf.flip();
        for (int y = 0; y < 360; y += 37) {
            for (int x = 0; x < 360; x += 41) {
                for (int c = 0; c < 3; c++) {
                    assertEquals(Float.floatToRawIntBits(Normalise.value(img.sample(y, x, c))),
                            Float.floatToRawIntBits(buf.getFloat(((y * 360 + x) * 3 + c) * 4)));
                }
            }
        }
        // int8: float32 division, ties away from zero, clamp (runtime/backends/tflite.py).
        assertEquals(3, TensorPacker.quantize(2.5f, 1.0f, 0));
        assertEquals(-3, TensorPacker.quantize(-2.5f, 1.0f, 0));
        assertEquals(2, TensorPacker.quantize(2.4999998f, 1.0f, 0));
        assertEquals(127, TensorPacker.quantize(1.0f, 1.0f / 255f, 0));
        assertEquals(-128, TensorPacker.quantize(-1.0f, 1.0f / 255f, 0));
        assertEquals(-128, TensorPacker.quantize(-1.0f, 1.0f / 127.5f, -1));
        assertEquals(127, TensorPacker.quantize(1.0f, 0.0078125f, -1));
        assertEquals(-1, TensorPacker.quantize(0.0f, 0.0078125f, -1));
        ModelIO q = new ModelIO("image", nhwc.shape, ModelIO.DType.INT8, Layout.NHWC, 0.0078125f, -1);
        ByteBuffer qb = ByteBuffer.allocate(q.byteCount());
        TensorPacker.pack(nchw, q, qb);
        assertEquals(TensorPacker.quantize(Normalise.value(img.sample(0, 0, 1)), 0.0078125f, -1),
                qb.get(1));
        ModelIO out = new ModelIO("embedding", new int[] {1, 128}, ModelIO.DType.INT8, null, 0.5f, 3);
        ByteBuffer ob = ByteBuffer.allocate(128);
        ob.put(0, (byte) -5);
        float[] e = TensorPacker.unpack(out, ob);
        assertEquals(-4.0f, e[0], 0.0f);
        assertEquals(-1.5f, e[1], 0.0f);
    }

    @Test
    public void normaliseTableIsTheBinary32Arithmetic() {
        for (int v = 0; v < 256; v++) {
            float t = (float) v;
            t = t / 255.0f;
            t = t * 2.0f;
            t = t - 1.0f;
            assertEquals(Float.floatToRawIntBits(t), Float.floatToRawIntBits(Normalise.value(v)));
        }
        assertEquals(-1.0f, Normalise.value(0), 0.0f);
        assertEquals(1.0f, Normalise.value(255), 0.0f);
    }
}

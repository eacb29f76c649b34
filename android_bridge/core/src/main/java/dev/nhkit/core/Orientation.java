package dev.nhkit.core;

/**
 * Spec step 2: the EXIF Orientation tag (0x0112) as an exact pixel permutation, identical to
 * Pillow's {@code ImageOps.exif_transpose}. A tag outside 1..8 (or missing) means 1.
 */
public final class Orientation {
    private Orientation() {}

    /** 1..8 unchanged; anything else becomes 1. */
    public static int normaliseTag(int tag) {
        return tag >= 1 && tag <= 8 ? tag : 1;
    }

    /** True for the tags that swap width and height (5..8). */
    public static boolean swapsAxes(int tag) {
        int t = normaliseTag(tag);
        return t >= 5;
    }

    /**
     * Applies the permutation of {@code tag}. Tag 1 (and any invalid tag) returns {@code in}
     * itself; every other tag returns a new image. For input height H and width W:
     * <pre>
     * 1 out[y][x] = in[y][x]          5 out[y][x] = in[x][y]            (W x H)
     * 2 out[y][x] = in[y][W-1-x]      6 out[y][x] = in[H-1-x][y]        (W x H)
     * 3 out[y][x] = in[H-1-y][W-1-x]  7 out[y][x] = in[H-1-x][W-1-y]    (W x H)
     * 4 out[y][x] = in[H-1-y][x]      8 out[y][x] = in[x][W-1-y]        (W x H)
     * </pre>
     */
    public static RgbImage apply(RgbImage in, int tag) {
        int t = normaliseTag(tag);
        if (t == 1) {
            return in;
        }
        final int h = in.height();
        final int w = in.width();
        final byte[] src = in.pixels();
        final byte[] dst = new byte[src.length];
        final int outH = t >= 5 ? w : h;
        final int outW = t >= 5 ? h : w;
        int o = 0;
        for (int y = 0; y < outH; y++) {
            // Source pixel of out[y][0] and the step (in pixels) to out[y][x+1].
            int start;
            int step;
            switch (t) {
                case 2: start = y * w + (w - 1); step = -1; break;
                case 3: start = (h - 1 - y) * w + (w - 1); step = -1; break;
                case 4: start = (h - 1 - y) * w; step = 1; break;
                case 5: start = y; step = w; break;                           // in[x][y]
                case 6: start = (h - 1) * w + y; step = -w; break;            // in[H-1-x][y]
                case 7: start = (h - 1) * w + (w - 1 - y); step = -w; break;  // in[H-1-x][W-1-y]
                case 8: start = w - 1 - y; step = w; break;                   // in[x][W-1-y]
                default: throw new AssertionError(t);
            }
            int s = start * 3;
            int ds = step * 3;
            for (int x = 0; x < outW; x++, s += ds, o += 3) {
                dst[o] = src[s];
                dst[o + 1] = src[s + 1];
                dst[o + 2] = src[s + 2];
            }
        }
        return new RgbImage(outW, outH, dst);
    }
}

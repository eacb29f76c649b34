package dev.nhkit.core;

/**
 * Spec step 1's mode table for decoders that hand out a file's stored samples (one int per band,
 * pixel-interleaved, as {@code java.awt.image.Raster.getPixels} gives them): the one place in
 * Java where stored samples become RGB8, shared by the JVM decoder ({@code ImageIoDecoder}) and
 * the test decoder. Android's {@code BitmapFactory} converts to ARGB_8888 itself and does not
 * come here.
 *
 * <ul>
 *   <li>palette (any index depth): the entry's R, G, B; an index past the palette's end gives
 *       (0, 0, 0); transparency and alpha ignored;</li>
 *   <li>CMYK (4 colour bands): Pillow's integer {@code cmyk2rgb};</li>
 *   <li>3 or more bands: R, G, B, alpha dropped (stored values, no premultiplication);</li>
 *   <li>1 or 2 bands (grey, grey+alpha): {@code (v, v, v)}, alpha dropped;</li>
 *   <li>16-bit samples: the high byte ({@code v >> 8}); 1/2/4-bit grey: scaled to 8 bits,
 *       {@code v * 255 / (2^bits - 1)}.</li>
 * </ul>
 */
public final class StoredSamples {
    private StoredSamples() {}

    /**
     * @param samples {@code width * height * bands} stored samples, row-major, pixel-interleaved
     * @param bits bits per sample: 1, 2, 4, 8 or 16 (palette indices: up to 8)
     * @param paletteRgb R, G, B per palette entry for indexed images, else {@code null}
     * @param cmyk whether the 4 colour bands are C, M, Y, K
     * @throws IllegalArgumentException for a layout the spec does not convert
     */
    public static RgbImage toRgb(int width, int height, int[] samples, int bands, int bits,
                                 byte[] paletteRgb, boolean cmyk) {
        if (bands < 1 || (long) width * height * bands != samples.length) {
            throw new IllegalArgumentException(samples.length + " samples do not hold " + width + "x"
                    + height + " pixels of " + bands + " band(s)");
        }
        if (!(bits == 1 || bits == 2 || bits == 4 || bits == 8 || bits == 16)) {
            throw new IllegalArgumentException("unsupported " + bits + "-bit samples");
        }
        if (cmyk && bands < 4) {
            throw new IllegalArgumentException("CMYK needs 4 bands, got " + bands);
        }
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(width, height), 3)];
        int n = width * height;
        for (int p = 0, s = 0, o = 0; p < n; p++, s += bands, o += 3) {
            if (paletteRgb != null) {
                int i = samples[s] * 3;
                if (i + 2 < paletteRgb.length) {
                    out[o] = paletteRgb[i];
                    out[o + 1] = paletteRgb[i + 1];
                    out[o + 2] = paletteRgb[i + 2];
                } // else (0, 0, 0): an index past the palette's end
            } else if (cmyk) {
                int nk = 255 - to8(samples[s + 3], bits);
                for (int c = 0; c < 3; c++) {
                    int t = to8(samples[s + c], bits) * nk + 128;
                    out[o + c] = (byte) Math.max(0, nk - ((t + (t >> 8)) >> 8));
                }
            } else if (bands >= 3) {
                out[o] = (byte) to8(samples[s], bits);
                out[o + 1] = (byte) to8(samples[s + 1], bits);
                out[o + 2] = (byte) to8(samples[s + 2], bits);
            } else {
                byte v = (byte) to8(samples[s], bits);
                out[o] = v;
                out[o + 1] = v;
                out[o + 2] = v;
            }
        }
        return new RgbImage(width, height, out);
    }

    /** One stored sample as 8 bits: 16-bit -> high byte; 1/2/4-bit -> scaled to 0..255. */
    static int to8(int v, int bits) {
        switch (bits) {
            case 16:
                return (v >> 8) & 0xff;
            case 8:
                return v & 0xff;
            default:
                return v * 255 / ((1 << bits) - 1);
        }
    }
}

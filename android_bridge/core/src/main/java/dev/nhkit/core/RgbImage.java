package dev.nhkit.core;

/**
 * An 8-bit RGB image: {@code height x width x 3} bytes, row-major, channel order R, G, B (the
 * spec's RGB8). The array is owned by the image; do not modify it after construction.
 */
public final class RgbImage {
    private final int width;
    private final int height;
    private final byte[] pixels;

    /**
     * Wraps {@code pixels} (not copied).
     *
     * @throws IllegalArgumentException if a dimension is < 1 or the length is not
     *     {@code width * height * 3}
     */
    public RgbImage(int width, int height, byte[] pixels) {
        if (width < 1 || height < 1) {
            throw new IllegalArgumentException("image needs at least one pixel, got " + width + "x"
                    + height);
        }
        long need = (long) width * height * 3;
        if (need > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("image " + width + "x" + height
                    + " is too large for one Java array");
        }
        if (pixels.length != need) {
            throw new IllegalArgumentException("expected " + need + " bytes for " + width + "x"
                    + height + " RGB8, got " + pixels.length);
        }
        this.width = width;
        this.height = height;
        this.pixels = pixels;
    }

    /**
     * Drops the alpha byte of tightly or loosely packed RGBA rows (Android's ARGB_8888 memory
     * layout is R, G, B, A per pixel). Stored colour values are kept as they are (no
     * premultiplication and no compositing, spec step 1).
     *
     * @param rowBytes bytes from the start of one row to the next (>= width * 4)
     */
    public static RgbImage fromRgba(byte[] rgba, int width, int height, int rowBytes) {
        if (width < 1 || height < 1 || rowBytes < width * 4
                || (long) rowBytes * (height - 1) + (long) width * 4 > rgba.length) {
            throw new IllegalArgumentException("RGBA buffer of " + rgba.length + " bytes does not hold "
                    + width + "x" + height + " pixels with " + rowBytes + " bytes per row");
        }
        byte[] out = new byte[width * height * 3];
        int o = 0;
        for (int y = 0; y < height; y++) {
            int p = y * rowBytes;
            for (int x = 0; x < width; x++, p += 4, o += 3) {
                out[o] = rgba[p];
                out[o + 1] = rgba[p + 1];
                out[o + 2] = rgba[p + 2];
            }
        }
        return new RgbImage(width, height, out);
    }

    /**
     * Pixels of an RGBA buffer (layout as {@link #fromRgba}) whose alpha is below 255: where a
     * platform decoder may not have kept the stored colour (a transparent GIF pixel's palette
     * colour, say), so decoders can report the case.
     */
    public static int translucentPixels(byte[] rgba, int width, int height, int rowBytes) {
        int n = 0;
        for (int y = 0; y < height; y++) {
            for (int x = 0, p = y * rowBytes + 3; x < width; x++, p += 4) {
                if (rgba[p] != (byte) 0xff) {
                    n++;
                }
            }
        }
        return n;
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    /** The backing array (not a copy): {@code (y * width + x) * 3 + channel}. */
    public byte[] pixels() {
        return pixels;
    }

    /** One sample, 0..255. */
    public int sample(int y, int x, int channel) {
        return pixels[(y * width + x) * 3 + channel] & 0xff;
    }

    /** sha256 of the row-major RGB8 bytes (the {@code decoded} / {@code resized} stage digest). */
    public String sha256Hex() {
        return Digests.sha256Hex(pixels);
    }

    @Override
    public String toString() {
        return "RgbImage{" + width + "x" + height + "}";
    }
}

package dev.nhkit.core;

/** The result of spec step 1: raw RGB8 samples plus the file's EXIF orientation tag. */
public final class DecodedImage {
    /** Decoded samples, not yet oriented. */
    public final RgbImage pixels;
    /** EXIF Orientation tag of the file, 1 when missing (values outside 1..8 mean 1). */
    public final int exifOrientation;
    /** The container format, e.g. {@code image/png}; {@code null} when unknown. */
    public final String mimeType;
    /** Free-form notes from the decoder (e.g. the colour space it decoded in). */
    public final String note;

    public DecodedImage(RgbImage pixels, int exifOrientation, String mimeType, String note) {
        this.pixels = pixels;
        this.exifOrientation = exifOrientation;
        this.mimeType = mimeType;
        this.note = note;
    }

    public DecodedImage(RgbImage pixels, int exifOrientation) {
        this(pixels, exifOrientation, null, null);
    }
}

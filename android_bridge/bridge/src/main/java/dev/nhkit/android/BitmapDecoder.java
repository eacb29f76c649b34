package dev.nhkit.android;

import android.graphics.Bitmap;
import android.graphics.BitmapFactory;
import android.graphics.ColorSpace;
import android.os.Build;

import androidx.exifinterface.media.ExifInterface;

import dev.nhkit.core.ColourMetadata;
import dev.nhkit.core.DecodedImage;
import dev.nhkit.core.HalfFloat16;
import dev.nhkit.core.ImageDecoder;
import dev.nhkit.core.NhkitException;
import dev.nhkit.core.Orientation;
import dev.nhkit.core.OrientationSource;
import dev.nhkit.core.RgbImage;
import dev.nhkit.core.Spec;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Spec step 1 on Android: the file's stored 8-bit samples, with nothing colour-matched, via
 * {@link BitmapFactory}, plus the orientation tag ({@link #readOrientation}).
 *
 * <ul>
 *   <li>{@code inPreferredConfig = ARGB_8888}: 8 bits per channel, memory order R, G, B, A.</li>
 *   <li>{@code inPremultiplied = false}: colour values of transparent pixels stay as stored (the
 *       spec drops alpha without compositing).</li>
 *   <li>JPEG and PNG: their colour metadata (ICC profiles, PNG gAMA/cHRM/sRGB/cICP) is removed
 *       from a copy of the bytes before decoding ({@link ColourMetadata}), so the platform
 *       decodes the stored samples as sRGB and has nothing to convert; the bitmap's
 *       {@link Bitmap#getColorSpace()} is checked to be sRGB (extended sRGB for F16). Checking
 *       the bounds pass's {@code outColorSpace} instead would prove nothing: Android documents it
 *       as the space the bitmap *will have* (the output), so a conversion of an ICC profile Skia
 *       cannot use as is would pass unseen.</li>
 *   <li>Other formats (WebP, HEIF, GIF, ...): decoded in the space the bounds pass reports, and
 *       the report note says that a conversion cannot be excluded.</li>
 *   <li>16-bit PNGs arrive as {@code RGBA_F16} on API 26+ whatever config is requested; the high
 *       byte is estimated ({@link HalfFloat16}) and the note reports the divergence (may differ
 *       by 1 for some sample values).</li>
 *   <li>API 24-25 have no {@code ColorSpace}; BitmapFactory did not colour-manage before
 *       Android 8, so the samples are the stored ones, but the decoder cannot verify or report
 *       the colour space there.</li>
 *   <li>{@code copyPixelsToBuffer} copies the raw bitmap memory (unlike {@code getPixels}, which
 *       converts to sRGB on API 26+); alpha is dropped.</li>
 * </ul>
 *
 * <p>Known limits: CMYK JPEGs are converted with Android's own math, not Pillow's
 * {@code cmyk2rgb}; a transparent GIF pixel may come back as 0 instead of its palette colour
 * (Pillow keeps the palette colour); lossy formats are compared by Hamming tolerance anyway
 * (spec: "Lossy formats ... MAY differ in step 1").
 * {@code ImageDecoder} (API 28) is not used because it applies EXIF orientation itself.
 */
public final class BitmapDecoder implements ImageDecoder {
    private final long maxPixels;

    public BitmapDecoder() {
        this(Spec.DEFAULT_MAX_PIXELS);
    }

    /** @param maxPixels files with more pixels are rejected before their pixels are decoded */
    public BitmapDecoder(long maxPixels) {
        if (maxPixels < 1) {
            throw new IllegalArgumentException("maxPixels must be >= 1");
        }
        this.maxPixels = maxPixels;
    }

    @Override
    public DecodedImage decode(byte[] encoded, String name) throws NhkitException.ImageDecodeException {
        if (encoded == null || encoded.length == 0) {
            throw new NhkitException.ImageDecodeException(name, "empty file");
        }
        // JPEG and PNG: decode without their colour metadata, so nothing can be colour-matched
        // (see ColourMetadata); the orientation is read from the original bytes.
        final boolean covered = ColourMetadata.covers(encoded);
        final byte[] bytes = ColourMetadata.strip(encoded);
        BitmapFactory.Options bounds = new BitmapFactory.Options();
        bounds.inJustDecodeBounds = true;
        bounds.inPreferredConfig = Bitmap.Config.ARGB_8888;
        bounds.inPremultiplied = false;
        BitmapFactory.decodeByteArray(bytes, 0, bytes.length, bounds);
        int w = bounds.outWidth;
        int h = bounds.outHeight;
        if (w <= 0 || h <= 0) {
            throw new NhkitException.ImageDecodeException(name, "not an image, or a format this "
                    + "Android version cannot decode");
        }
        long pixels = (long) w * h;
        if (pixels > maxPixels) {
            throw new NhkitException.ImageDecodeException(name, w + "x" + h + " = " + pixels
                    + " pixels exceeds the limit of " + maxPixels + " (decompression-bomb guard)");
        }

        BitmapFactory.Options opts = new BitmapFactory.Options();
        opts.inPreferredConfig = Bitmap.Config.ARGB_8888;
        opts.inPremultiplied = false;
        opts.inScaled = false;
        opts.inMutable = false;
        opts.inSampleSize = 1;
        Object source = null;
        if (!covered && Build.VERSION.SDK_INT >= Build.VERSION_CODES.O) {
            source = Api26.pinSourceColourSpace(bounds, opts);
        }
        Bitmap bmp;
        try {
            try {
                bmp = BitmapFactory.decodeByteArray(bytes, 0, bytes.length, opts);
            } catch (IllegalArgumentException e) {
                // A colour space the decoder refuses as a target (not RGB, or no ICC parametric
                // transfer function): decode unpinned; the result is still checked below.
                if (Build.VERSION.SDK_INT < Build.VERSION_CODES.O || !Api26.unpin(opts)) {
                    throw e;
                }
                bmp = BitmapFactory.decodeByteArray(bytes, 0, bytes.length, opts);
            }
        } catch (OutOfMemoryError e) {
            throw new NhkitException.ImageDecodeException(name, "out of memory decoding " + w + "x" + h,
                    e);
        } catch (IllegalArgumentException e) {
            throw new NhkitException.ImageDecodeException(name, "cannot decode: " + e.getMessage(), e);
        }
        if (bmp == null) {
            throw new NhkitException.ImageDecodeException(name, "truncated or corrupt image data");
        }
        RgbImage rgb;
        String note;
        try {
            Bitmap.Config config = bmp.getConfig();
            boolean f16 = Build.VERSION.SDK_INT >= Build.VERSION_CODES.O && config == Bitmap.Config.RGBA_F16;
            if (config != Bitmap.Config.ARGB_8888 && !f16) {
                throw new NhkitException.ImageDecodeException(name, "the decoder returned "
                        + config + " instead of 8-bit ARGB_8888 (or RGBA_F16 for 16-bit PNGs)");
            }
            if (bmp.isPremultiplied()) {
                throw new NhkitException.ImageDecodeException(name, "the decoder premultiplied alpha");
            }
            if (bmp.getWidth() != w || bmp.getHeight() != h) {
                throw new NhkitException.ImageDecodeException(name, "decoded size " + bmp.getWidth()
                        + "x" + bmp.getHeight() + " differs from the header's " + w + "x" + h);
            }
            if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.O) {
                note = covered ? Api26.checkUnmanaged(bmp, f16, name)
                        : Api26.checkColourSpace(bmp, source, name);
            } else {
                note = "colour space: not managed by BitmapFactory before API 26 (samples as stored)";
            }
            ByteBuffer buf = ByteBuffer.allocate(bmp.getByteCount());
            bmp.copyPixelsToBuffer(buf);
            if (f16) {
                rgb = fromRgbaF16(buf.array(), w, h, bmp.getRowBytes());
                note = note + "; " + F16_DIVERGENCE;
            } else {
                rgb = RgbImage.fromRgba(buf.array(), w, h, bmp.getRowBytes());
                int translucent = "image/gif".equals(bounds.outMimeType)
                        ? RgbImage.translucentPixels(buf.array(), w, h, bmp.getRowBytes()) : 0;
                if (translucent > 0) {
                    // Pillow hashes a transparent GIF pixel's palette colour; Android's GIF
                    // decoder may write 0 there instead (inPremultiplied=false keeps stored
                    // colours for PNG/WebP, but a GIF pixel's colour comes from the palette).
                    note = note + "; alpha: " + translucent + " transparent GIF pixel(s): their "
                            + "palette colour may not have been kept (spec: palette colour)";
                }
            }
        } finally {
            bmp.recycle();
        }
        return new DecodedImage(rgb, readOrientation(encoded), bounds.outMimeType, note);
    }

    /**
     * Reported with every RGBA_F16 decode (Android 8+ decodes 16-bit PNGs so, whatever config is
     * requested): the spec's high byte is estimated from a half float and can be 1 too low or
     * high for some sample values (HalfFloat16Test: 2,712 of 65,536 with round-to-nearest
     * conversion, 4,064 with truncation; exact for 8-bit values widened to 16 bits).
     */
    static final String F16_DIVERGENCE = "spec divergence: 16-bit samples reached nhkit as RGBA_F16 "
            + "half floats; the high byte is estimated and may differ by 1 for about 4-6% of sample "
            + "values";

    /** RGBA_F16 memory (4 little-endian binary16 per pixel) -> RGB8 of the estimated high bytes. */
    static RgbImage fromRgbaF16(byte[] px, int w, int h, int rowBytes) {
        byte[] out = new byte[w * h * 3];
        int o = 0;
        for (int y = 0; y < h; y++) {
            int p = y * rowBytes;
            for (int x = 0; x < w; x++, p += 8) {
                for (int c = 0; c < 3; c++) {
                    int half = (px[p + 2 * c] & 0xff) | ((px[p + 2 * c + 1] & 0xff) << 8);
                    out[o++] = (byte) HalfFloat16.highByte(half);
                }
            }
        }
        return new RgbImage(w, h, out);
    }

    /**
     * The orientation tag, 1 when missing, unreadable or outside 1..8 (spec step 2): for JPEG and
     * PNG from exactly the spec's sources ({@link OrientationSource}: EXIF, PNG text profiles,
     * XMP, which ExifInterface does not all read); for other formats from androidx ExifInterface.
     */
    public static int readOrientation(byte[] encoded) {
        if (OrientationSource.covers(encoded)) {
            Integer tag = OrientationSource.tag(encoded);
            return Orientation.normaliseTag(tag == null ? 1 : tag);
        }
        try {
            ExifInterface exif = new ExifInterface(new ByteArrayInputStream(encoded));
            return Orientation.normaliseTag(exif.getAttributeInt(ExifInterface.TAG_ORIENTATION,
                    ExifInterface.ORIENTATION_NORMAL));
        } catch (IOException | RuntimeException e) {
            return 1;
        }
    }

    /** API 26+ only (kept apart so older runtimes never load ColorSpace). */
    static final class Api26 {
        private Api26() {}

        /**
         * Requests the source's own colour space (the bounds pass's {@code outColorSpace}) as the
         * decode target; returns it (or null if unknown). Only RGB spaces can be targets.
         */
        static Object pinSourceColourSpace(BitmapFactory.Options bounds, BitmapFactory.Options opts) {
            ColorSpace source = bounds.outColorSpace;
            if (source instanceof ColorSpace.Rgb) {
                opts.inPreferredColorSpace = source;
            }
            return source;
        }

        /** Drops the pinned target; false when nothing was pinned. */
        static boolean unpin(BitmapFactory.Options opts) {
            if (opts.inPreferredColorSpace == null) {
                return false;
            }
            opts.inPreferredColorSpace = null;
            return true;
        }

        /**
         * JPEG/PNG decoded without colour metadata: the platform has no reason to convert, so
         * the bitmap must be plain sRGB (8-bit) or extended sRGB (F16, still non-linear); any
         * other space means it converted anyway, which is an error, never a silent change.
         */
        static String checkUnmanaged(Bitmap bmp, boolean f16, String name)
                throws NhkitException.ImageDecodeException {
            ColorSpace got = bmp.getColorSpace();
            boolean ok = got != null && (got.equals(ColorSpace.get(ColorSpace.Named.SRGB))
                    || (f16 && got.equals(ColorSpace.get(ColorSpace.Named.EXTENDED_SRGB))));
            if (!ok) {
                throw new NhkitException.ImageDecodeException(name, "the decoder converted the "
                        + "samples to " + (got == null ? "an unknown colour space" : got.getName())
                        + " although the file's colour metadata was removed before decoding");
            }
            return "colour space: " + got.getName() + " (colour metadata removed before decoding: "
                    + "stored samples, no conversion possible)";
        }

        /**
         * Formats other than JPEG/PNG keep their colour metadata. The bitmap must be in the space
         * the bounds pass reported; but that is the *output* space ({@code outColorSpace}), so
         * a conversion of a profile the platform could not use as is (to sRGB, say) cannot be
         * seen here, and the note says so instead of claiming "not converted".
         */
        static String checkColourSpace(Bitmap bmp, Object source, String name)
                throws NhkitException.ImageDecodeException {
            ColorSpace got = bmp.getColorSpace();
            if (source != null && got != null && !got.equals(source)) {
                throw new NhkitException.ImageDecodeException(name, "the decoder colour-matched the "
                        + "image from " + ((ColorSpace) source).getName() + " to " + got.getName());
            }
            return "colour space: " + (got == null ? "unknown" : got.getName())
                    + " (format not covered by colour-metadata removal: if the file's ICC profile"
                    + " was not usable as is, the platform may have converted the samples; lossy"
                    + " tolerance applies)";
        }
    }
}

package dev.nhkit.android;

import android.graphics.Bitmap;
import android.graphics.BitmapFactory;
import android.graphics.ColorSpace;
import android.os.Build;

import androidx.exifinterface.media.ExifInterface;

import dev.nhkit.core.DecodedImage;
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
 *   <li>API 26+: a bounds-only pass reports {@code outColorSpace}, the colour space the decoder
 *       would give the bitmap, which is the image's own (embedded ICC profile, PNG
 *       gAMA/cHRM/sRGB, else sRGB). That space is then requested explicitly with
 *       {@code inPreferredColorSpace}, so the decode is a plain copy of the samples into their own
 *       space, and the bitmap's {@link Bitmap#getColorSpace()} is checked to be exactly it. A
 *       mismatch (the platform colour-matched anyway) is an error, never a silent change.</li>
 *   <li>API 24-25 have no {@code ColorSpace}; BitmapFactory did not colour-manage before
 *       Android 8, so the samples are the stored ones, but the decoder cannot verify or report
 *       the colour space there.</li>
 *   <li>{@code copyPixelsToBuffer} copies the raw bitmap memory (unlike {@code getPixels}, which
 *       converts to sRGB on API 26+); alpha is dropped.</li>
 * </ul>
 *
 * <p>Known limits (bundle self-tests use PNGs without them): an ICC profile Skia cannot express as
 * an RGB {@code ColorSpace} (LUT-based ICC v4 profiles) is colour-converted by the platform to
 * sRGB/Display P3 before we see it; CMYK JPEGs are converted with Android's own math, not Pillow's
 * {@code cmyk2rgb}; 16-bit PNGs may be rounded to 8 bits instead of keeping the high byte. Lossy
 * formats are compared by Hamming tolerance anyway (spec: "Lossy formats ... MAY differ in step 1").
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
        BitmapFactory.Options bounds = new BitmapFactory.Options();
        bounds.inJustDecodeBounds = true;
        bounds.inPreferredConfig = Bitmap.Config.ARGB_8888;
        bounds.inPremultiplied = false;
        BitmapFactory.decodeByteArray(encoded, 0, encoded.length, bounds);
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
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.O) {
            source = Api26.pinSourceColourSpace(bounds, opts);
        }
        Bitmap bmp;
        try {
            try {
                bmp = BitmapFactory.decodeByteArray(encoded, 0, encoded.length, opts);
            } catch (IllegalArgumentException e) {
                // A colour space the decoder refuses as a target (not RGB, or no ICC parametric
                // transfer function): decode unpinned; the result is still checked below.
                if (Build.VERSION.SDK_INT < Build.VERSION_CODES.O || !Api26.unpin(opts)) {
                    throw e;
                }
                bmp = BitmapFactory.decodeByteArray(encoded, 0, encoded.length, opts);
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
            if (bmp.getConfig() != Bitmap.Config.ARGB_8888) {
                throw new NhkitException.ImageDecodeException(name, "the decoder returned "
                        + bmp.getConfig() + " instead of 8-bit ARGB_8888");
            }
            if (bmp.isPremultiplied()) {
                throw new NhkitException.ImageDecodeException(name, "the decoder premultiplied alpha");
            }
            if (bmp.getWidth() != w || bmp.getHeight() != h) {
                throw new NhkitException.ImageDecodeException(name, "decoded size " + bmp.getWidth()
                        + "x" + bmp.getHeight() + " differs from the header's " + w + "x" + h);
            }
            if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.O) {
                note = Api26.checkColourSpace(bmp, source, name);
            } else {
                note = "colour space: not managed by BitmapFactory before API 26 (samples as stored)";
            }
            ByteBuffer buf = ByteBuffer.allocate(bmp.getByteCount());
            bmp.copyPixelsToBuffer(buf);
            rgb = RgbImage.fromRgba(buf.array(), w, h, bmp.getRowBytes());
        } finally {
            bmp.recycle();
        }
        return new DecodedImage(rgb, readOrientation(encoded), bounds.outMimeType, note);
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

        /** The bitmap must be in the space the bounds pass reported for the source. */
        static String checkColourSpace(Bitmap bmp, Object source, String name)
                throws NhkitException.ImageDecodeException {
            ColorSpace got = bmp.getColorSpace();
            if (source != null && got != null && !got.equals(source)) {
                throw new NhkitException.ImageDecodeException(name, "the decoder colour-matched the "
                        + "image from " + ((ColorSpace) source).getName() + " to " + got.getName());
            }
            return "colour space: " + (got == null ? "unknown" : got.getName())
                    + " (decoded in the image's own space, not converted)";
        }
    }
}

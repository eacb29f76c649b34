package dev.nhkit.jvm;

import dev.nhkit.core.DecodedImage;
import dev.nhkit.core.ImageDecoder;
import dev.nhkit.core.NhkitException;
import dev.nhkit.core.Orientation;
import dev.nhkit.core.OrientationSource;
import dev.nhkit.core.RgbImage;
import dev.nhkit.core.StoredSamples;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;

import javax.imageio.ImageIO;

/**
 * Spec step 1 on a JVM: javax.imageio's PNG and JPEG readers, taking the raster's stored samples
 * (no colour management, as the spec requires) and converting them to RGB8 with core's
 * {@link StoredSamples} (spec step 1's mode table, shared with the core test decoder).
 * The orientation tag comes from core's {@link OrientationSource} (the spec's sources: EXIF, PNG
 * eXIf and raw-profile text, XMP), as on Android and iOS.
 *
 * <p>This is the JVM platform's decoder (as BitmapDecoder is Android's): JPEG is lossy and
 * javax.imageio's IDCT is not libjpeg's, so JPEG cases are compared within the bundle's lossy
 * tolerance, like on a phone.
 */
public final class ImageIoDecoder implements ImageDecoder {
    /** Pixel limit checked before the raster is allocated (the spec's 100 MP). */
    private final long maxPixels;

    public ImageIoDecoder() {
        this(100_000_000L);
    }

    public ImageIoDecoder(long maxPixels) {
        this.maxPixels = maxPixels;
    }

    @Override
    public DecodedImage decode(byte[] encoded, String name) throws NhkitException.ImageDecodeException {
        if (encoded == null || encoded.length == 0) {
            throw new NhkitException.ImageDecodeException(name, "empty file");
        }
        String mime = mimeOf(encoded);
        if (mime == null) {
            throw new NhkitException.ImageDecodeException(name, "not a PNG or JPEG file");
        }
        BufferedImage img;
        try {
            img = ImageIO.read(new ByteArrayInputStream(encoded));
        } catch (IOException | RuntimeException e) {
            throw new NhkitException.ImageDecodeException(name, "cannot decode: " + e.getMessage(), e);
        }
        if (img == null) {
            throw new NhkitException.ImageDecodeException(name, "javax.imageio cannot read this " + mime);
        }
        int w = img.getWidth();
        int h = img.getHeight();
        if ((long) w * h > maxPixels) {
            throw new NhkitException.ImageDecodeException(name, w + "x" + h + " exceeds the limit of "
                    + maxPixels + " pixels");
        }
        Raster r = img.getRaster();
        int bands = r.getNumBands();
        int bits = r.getSampleModel().getSampleSize(0);
        ColorModel cm = img.getColorModel();
        byte[] palette = null;
        if (cm instanceof IndexColorModel) {
            IndexColorModel icm = (IndexColorModel) cm;
            palette = new byte[icm.getMapSize() * 3];
            for (int i = 0; i < icm.getMapSize(); i++) {
                palette[3 * i] = (byte) icm.getRed(i);
                palette[3 * i + 1] = (byte) icm.getGreen(i);
                palette[3 * i + 2] = (byte) icm.getBlue(i);
            }
        }
        RgbImage rgb;
        try {
            rgb = StoredSamples.toRgb(w, h, r.getPixels(0, 0, w, h, (int[]) null), bands, bits, palette,
                    cm.getColorSpace().getType() == ColorSpace.TYPE_CMYK);
        } catch (IllegalArgumentException e) {
            throw new NhkitException.ImageDecodeException(name, e.getMessage(), e);
        }
        Integer tag = OrientationSource.tag(encoded);
        int orientation = Orientation.normaliseTag(tag == null ? 1 : tag);
        return new DecodedImage(rgb, orientation, mime,
                "javax.imageio raster samples, " + bands + " band(s) of " + bits + " bit");
    }

    static String mimeOf(byte[] b) {
        if (b.length >= 8 && (b[0] & 0xff) == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') {
            return "image/png";
        }
        if (b.length >= 3 && (b[0] & 0xff) == 0xff && (b[1] & 0xff) == 0xd8 && (b[2] & 0xff) == 0xff) {
            return "image/jpeg";
        }
        return null;
    }
}

package dev.nhkit.core;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;

import javax.imageio.ImageIO;

/**
 * Test-only stand-in for a platform decoder: javax.imageio reading raw raster samples (no colour
 * management), converted to RGB8 by core's {@link StoredSamples} (spec step 1's mode table). The EXIF orientation comes from the caller
 * (javax.imageio does not read PNG eXIf chunks). Never packaged: Android has no javax.imageio.
 */
final class PngTestDecoder implements ImageDecoder {
    private final java.util.function.ToIntFunction<String> orientationOf;

    /** The orientation from the file's bytes ({@link OrientationSource}), as the bridges do. */
    PngTestDecoder() {
        this.orientationOf = null;
    }

    PngTestDecoder(int orientation) {
        this.orientationOf = name -> orientation;
    }

    /** The orientation of each file, looked up by the name passed to {@link #decode}. */
    PngTestDecoder(java.util.function.ToIntFunction<String> orientationOf) {
        this.orientationOf = orientationOf;
    }

    @Override
    public DecodedImage decode(byte[] encoded, String name) throws NhkitException.ImageDecodeException {
        BufferedImage img;
        try {
            img = ImageIO.read(new ByteArrayInputStream(encoded));
        } catch (IOException e) {
            throw new NhkitException.ImageDecodeException(name, "cannot decode: " + e.getMessage(), e);
        }
        if (img == null) {
            throw new NhkitException.ImageDecodeException(name, "not an image javax.imageio can read");
        }
        RgbImage rgb;
        try {
            rgb = rgbOf(img);
        } catch (IllegalArgumentException e) {
            throw new NhkitException.ImageDecodeException(name, e.getMessage(), e);
        }
        int orientation;
        if (orientationOf != null) {
            orientation = orientationOf.applyAsInt(name);
        } else {
            Integer tag = OrientationSource.covers(encoded) ? OrientationSource.tag(encoded) : null;
            orientation = Orientation.normaliseTag(tag == null ? 1 : tag);
        }
        return new DecodedImage(rgb, orientation, "image/png", "javax.imageio raster");
    }

    /**
     * The raster's stored samples through core's {@link StoredSamples} (the same code path as the
     * JVM bridge's ImageIoDecoder: only the AWT plumbing is repeated there).
     */
    static RgbImage rgbOf(BufferedImage img) {
        Raster r = img.getRaster();
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
        int w = img.getWidth();
        int h = img.getHeight();
        return StoredSamples.toRgb(w, h, r.getPixels(0, 0, w, h, (int[]) null), r.getNumBands(),
                r.getSampleModel().getSampleSize(0), palette,
                cm.getColorSpace().getType() == ColorSpace.TYPE_CMYK);
    }
}

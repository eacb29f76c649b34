package dev.nhkit.core;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;

import javax.imageio.ImageIO;

/**
 * Test-only stand-in for a platform decoder: javax.imageio reading raw raster samples (no colour
 * management), converted to RGB8 under spec step 1's rules for the PNG modes Pillow reads
 * (RGB/RGBA 8 and 16 bit, grey 1/8/16 bit, palette). The EXIF orientation comes from the caller
 * (javax.imageio does not read PNG eXIf chunks). Never packaged: Android has no javax.imageio.
 */
final class PngTestDecoder implements ImageDecoder {
    private final java.util.function.ToIntFunction<String> orientationOf;

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
        int w = img.getWidth();
        int h = img.getHeight();
        Raster r = img.getRaster();
        int bands = r.getNumBands();
        int bits = r.getSampleModel().getSampleSize(0);
        boolean indexed = img.getColorModel() instanceof IndexColorModel;
        byte[] out = new byte[w * h * 3];
        int[] px = new int[bands];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                r.getPixel(x, y, px);
                int o = (y * w + x) * 3;
                if (indexed) {
                    IndexColorModel cm = (IndexColorModel) img.getColorModel();
                    out[o] = (byte) cm.getRed(px[0]);
                    out[o + 1] = (byte) cm.getGreen(px[0]);
                    out[o + 2] = (byte) cm.getBlue(px[0]);
                } else if (bands >= 3) {
                    for (int c = 0; c < 3; c++) {
                        out[o + c] = (byte) (bits == 16 ? px[c] >> 8 : px[c]);
                    }
                } else {
                    int v = bits == 16 ? px[0] >> 8 : bits == 1 ? px[0] * 255 : px[0];
                    out[o] = out[o + 1] = out[o + 2] = (byte) v;
                }
            }
        }
        return new DecodedImage(new RgbImage(w, h, out), orientationOf.applyAsInt(name), "image/png", "javax.imageio raster");
    }
}

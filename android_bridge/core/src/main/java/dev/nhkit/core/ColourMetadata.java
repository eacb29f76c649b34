package dev.nhkit.core;

import java.io.ByteArrayOutputStream;

/**
 * Spec step 1 ignores every colour profile and colour chunk: the stored samples are used as they
 * are. Android's decoders colour-manage, and for a profile Skia cannot express as a parametric
 * {@code ColorSpace} (LUT-based or unusual ICC profiles) they convert to sRGB/Display P3 while
 * {@code outColorSpace} reports only the *output* space, so the conversion cannot be seen after
 * the fact. Instead the colour metadata is removed before decoding: a JPEG or PNG without it is
 * decoded as sRGB, i.e. as the stored samples, with no conversion to detect. The pixel data and
 * every other segment or chunk (EXIF, XMP, text, palette, transparency) are kept byte for byte.
 */
public final class ColourMetadata {
    private ColourMetadata() {}

    /** PNG chunks that describe colour: ICC profile, gamma, chromaticities, sRGB intent, CICP
     * code points and HDR metadata. */
    static final String[] PNG_COLOUR_CHUNKS = {"iCCP", "gAMA", "cHRM", "sRGB", "cICP", "mDCV", "cLLI"};

    /**
     * The file without its colour metadata (JPEG: APP2 {@code ICC_PROFILE} segments before the
     * first SOS; PNG: the chunks above), or the same array when it has none or is neither JPEG
     * nor PNG (other formats are decoded as they are; see the decoder's report note).
     */
    public static byte[] strip(byte[] b) {
        if (OrientationSource.isPng(b)) {
            return stripPng(b);
        }
        if (OrientationSource.isJpeg(b)) {
            return stripJpeg(b);
        }
        return b;
    }

    /** Whether {@link #strip} covers this format (JPEG or PNG). */
    public static boolean covers(byte[] b) {
        return OrientationSource.covers(b);
    }

    private static byte[] stripPng(byte[] b) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(b.length);
        out.write(b, 0, 8);
        int pos = 8;
        boolean dropped = false;
        while (pos + 12 <= b.length) {
            long len = ((long) (b[pos] & 0xff) << 24) | ((b[pos + 1] & 0xff) << 16)
                    | ((b[pos + 2] & 0xff) << 8) | (b[pos + 3] & 0xff);
            if (pos + 12 + len > b.length) {
                break; // truncated: keep the rest as it is, the decoder reports it
            }
            String type = new String(b, pos + 4, 4, java.nio.charset.StandardCharsets.ISO_8859_1);
            int end = (int) (pos + 12 + len);
            if (isColourChunk(type)) {
                dropped = true;
            } else {
                out.write(b, pos, end - pos);
            }
            pos = end;
            if (type.equals("IEND")) {
                break;
            }
        }
        if (!dropped) {
            return b;
        }
        out.write(b, pos, b.length - pos);
        return out.toByteArray();
    }

    private static boolean isColourChunk(String type) {
        for (String c : PNG_COLOUR_CHUNKS) {
            if (c.equals(type)) {
                return true;
            }
        }
        return false;
    }

    private static final byte[] ICC = {'I', 'C', 'C', '_', 'P', 'R', 'O', 'F', 'I', 'L', 'E', 0};

    private static byte[] stripJpeg(byte[] b) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(b.length);
        out.write(b, 0, 2);
        int pos = 2;
        boolean dropped = false;
        while (pos + 4 <= b.length && (b[pos] & 0xff) == 0xff) {
            int marker = b[pos + 1] & 0xff;
            if (marker == 0xff || marker == 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
                int step = marker == 0xff ? 1 : 2;
                out.write(b, pos, step);
                pos += step;
                continue;
            }
            if (marker == 0xda || marker == 0xd9) {
                break;
            }
            int length = ((b[pos + 2] & 0xff) << 8) | (b[pos + 3] & 0xff);
            if (length < 2 || pos + 2 + length > b.length) {
                break;
            }
            boolean icc = marker == 0xe2 && length - 2 >= ICC.length;
            for (int i = 0; icc && i < ICC.length; i++) {
                icc = b[pos + 4 + i] == ICC[i];
            }
            if (icc) {
                dropped = true;
            } else {
                out.write(b, pos, 2 + length);
            }
            pos += 2 + length;
        }
        if (!dropped) {
            return b;
        }
        out.write(b, pos, b.length - pos);
        return out.toByteArray();
    }
}

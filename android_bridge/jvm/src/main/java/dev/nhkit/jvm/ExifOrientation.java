package dev.nhkit.jvm;

/**
 * The EXIF Orientation tag (0x0112) of a JPEG (APP1 "Exif" segment) or PNG (eXIf chunk), for
 * {@link ImageIoDecoder}: javax.imageio does not expose it. Returns 1 when there is none or the
 * value is outside 1..8; never throws on malformed metadata (a damaged EXIF block must not stop a
 * decodable image from hashing, and Pillow also falls back to "no orientation").
 *
 * <p>Only these two containers are read; other places an orientation may be stored (XMP, PNG
 * text chunks) are what the spec decides, not this JVM adapter.
 */
final class ExifOrientation {
    private ExifOrientation() {}

    static int read(byte[] file) {
        try {
            String mime = ImageIoDecoder.mimeOf(file);
            if ("image/jpeg".equals(mime)) {
                return fromJpeg(file);
            }
            if ("image/png".equals(mime)) {
                return fromPng(file);
            }
        } catch (IndexOutOfBoundsException e) {
            return 1; // truncated metadata
        }
        return 1;
    }

    private static int fromJpeg(byte[] b) {
        int p = 2;
        while (p + 4 <= b.length && (b[p] & 0xff) == 0xff) {
            int marker = b[p + 1] & 0xff;
            if (marker == 0xd9 || marker == 0xda) {
                break; // end of image / start of scan: no more metadata segments
            }
            int len = u16(b, p + 2, true);
            if (marker == 0xe1 && len >= 8 && b[p + 4] == 'E' && b[p + 5] == 'x' && b[p + 6] == 'i'
                    && b[p + 7] == 'f' && b[p + 8] == 0 && b[p + 9] == 0) {
                return fromTiff(b, p + 10, p + 2 + len);
            }
            p += 2 + len;
        }
        return 1;
    }

    private static int fromPng(byte[] b) {
        int p = 8;
        while (p + 12 <= b.length) {
            long len = u32(b, p);
            if (len > b.length - p - 12) {
                break;
            }
            String type = new String(b, p + 4, 4, java.nio.charset.StandardCharsets.US_ASCII);
            if (type.equals("eXIf")) {
                return fromTiff(b, p + 8, p + 8 + (int) len);
            }
            if (type.equals("IDAT") || type.equals("IEND")) {
                break; // eXIf must come before the image data
            }
            p += 12 + (int) len;
        }
        return 1;
    }

    /** IFD0 of a TIFF structure at {@code start} (its offsets are relative to it). */
    private static int fromTiff(byte[] b, int start, int end) {
        boolean big;
        if (b[start] == 'M' && b[start + 1] == 'M') {
            big = true;
        } else if (b[start] == 'I' && b[start + 1] == 'I') {
            big = false;
        } else {
            return 1;
        }
        if (u16(b, start + 2, big) != 42) {
            return 1;
        }
        long ifd = start + u32(b, start + 4, big);
        if (ifd + 2 > end) {
            return 1;
        }
        int n = u16(b, (int) ifd, big);
        for (int i = 0; i < n; i++) {
            int e = (int) ifd + 2 + 12 * i;
            if (e + 12 > end) {
                return 1;
            }
            if (u16(b, e, big) == 0x0112) {
                int type = u16(b, e + 2, big);
                int v = type == 3 ? u16(b, e + 8, big) : type == 4 ? (int) u32(b, e + 8, big) : 1;
                return v >= 1 && v <= 8 ? v : 1;
            }
        }
        return 1;
    }

    private static int u16(byte[] b, int p, boolean big) {
        return big ? ((b[p] & 0xff) << 8) | (b[p + 1] & 0xff) : ((b[p + 1] & 0xff) << 8) | (b[p] & 0xff);
    }

    private static long u32(byte[] b, int p) {
        return u32(b, p, true);
    }

    private static long u32(byte[] b, int p, boolean big) {
        long v = 0;
        for (int i = 0; i < 4; i++) {
            v = (v << 8) | (b[big ? p + i : p + 3 - i] & 0xff);
        }
        return v;
    }
}

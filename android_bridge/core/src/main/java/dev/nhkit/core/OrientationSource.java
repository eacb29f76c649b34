package dev.nhkit.core;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Spec step 2, where the orientation tag comes from: the JPEG and PNG metadata nh-spec-v1
 * section 2 names (EXIF in JPEG APP1, PNG {@code eXIf} or "Raw profile type exif" text; else XMP
 * {@code tiff:Orientation}), read from the file bytes. Ours rather than androidx
 * {@code ExifInterface}'s, which reads EXIF only (no XMP, no PNG text profiles) and whose PNG
 * support depends on its version; a 90-degree difference changes the whole hash. The same rules
 * are in Python ({@code runtime/orientation_source.py}) and Swift ({@code OrientationSource}), all
 * checked on {@code tests/decode_fixtures/}. Unreadable metadata means "no tag", never an error.
 */
public final class OrientationSource {
    private OrientationSource() {}

    private static final byte[] EXIF_PREFIX = {'E', 'x', 'i', 'f', 0, 0};
    private static final byte[] XMP_PREFIX = "http://ns.adobe.com/xap/1.0/\0".getBytes(StandardCharsets.ISO_8859_1);
    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    /** Whether the spec's byte-level rules cover this file (JPEG or PNG). */
    public static boolean covers(byte[] b) {
        return isJpeg(b) || isPng(b);
    }

    /** The raw tag value (not yet limited to 1..8), {@code null} when absent or not JPEG/PNG. */
    public static Integer tag(byte[] b) {
        byte[][] meta;
        if (isJpeg(b)) {
            meta = jpegMetadata(b);
        } else if (isPng(b)) {
            meta = pngMetadata(b);
        } else {
            return null;
        }
        Integer t = meta[0] == null ? null : exifOrientation(meta[0]);
        if (t == null && meta[1] != null) {
            t = xmpOrientation(meta[1]);
        }
        return t;
    }

    static boolean isJpeg(byte[] b) {
        return b.length >= 2 && (b[0] & 0xff) == 0xff && (b[1] & 0xff) == 0xd8;
    }

    static boolean isPng(byte[] b) {
        return b.length >= 8 && startsWith(b, 0, b.length, PNG_SIGNATURE);
    }

    private static boolean startsWith(byte[] b, int from, int to, byte[] prefix) {
        if (to - from < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (b[from + i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    private static byte[] range(byte[] b, int from, int to) {
        byte[] out = new byte[to - from];
        System.arraycopy(b, from, out, 0, out.length);
        return out;
    }

    private static byte[] concat(byte[] a, byte[] b, int from, int to) {
        byte[] out = new byte[a.length + to - from];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, from, out, a.length, to - from);
        return out;
    }

    /** {EXIF, XMP}: APP1 segments before the first SOS, EXIF payloads concatenated, last XMP. */
    static byte[][] jpegMetadata(byte[] b) {
        byte[] exif = null;
        byte[] xmp = null;
        int pos = 2;
        int n = b.length;
        while (pos + 4 <= n) {
            if ((b[pos] & 0xff) != 0xff) {
                break;
            }
            int marker = b[pos + 1] & 0xff;
            if (marker == 0xff) { // fill byte
                pos += 1;
                continue;
            }
            if (marker == 0xd8 || marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
                pos += 2;
                continue;
            }
            if (marker == 0xda || marker == 0xd9) { // SOS, EOI
                break;
            }
            int length = ((b[pos + 2] & 0xff) << 8) | (b[pos + 3] & 0xff);
            if (length < 2 || (long) pos + 2 + length > n) {
                break;
            }
            int p0 = pos + 4;
            int p1 = pos + 2 + length;
            if (marker == 0xe1) {
                if (startsWith(b, p0, p1, EXIF_PREFIX)) {
                    exif = exif == null ? range(b, p0, p1) : concat(exif, b, p0 + 6, p1);
                } else if (startsWith(b, p0, p1, XMP_PREFIX)) {
                    xmp = range(b, p0 + XMP_PREFIX.length, p1);
                }
            }
            pos = p1;
        }
        return new byte[][] {exif, xmp};
    }

    /** {EXIF, XMP}: every chunk to IEND; last eXIf, else last raw-profile text; last XMP text. */
    static byte[][] pngMetadata(byte[] b) {
        byte[] exif = null;
        byte[] rawProfile = null;
        byte[] xmp = null;
        int pos = 8;
        int n = b.length;
        while (pos + 8 <= n) {
            long length = ((long) (b[pos] & 0xff) << 24) | ((b[pos + 1] & 0xff) << 16)
                    | ((b[pos + 2] & 0xff) << 8) | (b[pos + 3] & 0xff);
            String type = new String(b, pos + 4, 4, StandardCharsets.ISO_8859_1);
            if (pos + 8 + length > n) {
                break;
            }
            int p0 = pos + 8;
            int p1 = (int) (p0 + length);
            pos = p1 + 4;
            if (type.equals("IEND")) {
                break;
            }
            if (type.equals("eXIf")) {
                exif = concat(EXIF_PREFIX, b, p0, p1);
            } else if (type.equals("tEXt") || type.equals("zTXt") || type.equals("iTXt")) {
                Object[] kv = pngText(type, b, p0, p1);
                if (kv != null && kv[0].equals("Raw profile type exif")) {
                    rawProfile = (byte[]) kv[1];
                } else if (kv != null && kv[0].equals("XML:com.adobe.xmp")) {
                    xmp = (byte[]) kv[1];
                }
            }
        }
        if (exif == null && rawProfile != null) {
            exif = rawProfileBytes(rawProfile);
        }
        return new byte[][] {exif, xmp};
    }

    private static int indexOfZero(byte[] b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (b[i] == 0) {
                return i;
            }
        }
        return -1;
    }

    /** {keyword, text bytes} of a tEXt/zTXt/iTXt chunk body; {@code null} if malformed. */
    static Object[] pngText(String type, byte[] b, int p0, int p1) {
        int z = indexOfZero(b, p0, p1);
        if (z < 0 && !type.equals("tEXt")) {
            return null;
        }
        String key = new String(b, p0, (z < 0 ? p1 : z) - p0, StandardCharsets.ISO_8859_1);
        int r = z < 0 ? p1 : z + 1;
        if (type.equals("tEXt")) {
            return new Object[] {key, range(b, r, p1)};
        }
        if (type.equals("zTXt")) {
            if (r >= p1 || b[r] != 0) {
                return null;
            }
            byte[] text = inflate(b, r + 1, p1);
            return text == null ? null : new Object[] {key, text};
        }
        if (p1 - r < 2) { // iTXt: flag, method, language\0, translated keyword\0, text
            return null;
        }
        int flag = b[r] & 0xff;
        int method = b[r + 1] & 0xff;
        int t = r + 2;
        for (int k = 0; k < 2; k++) {
            int zz = indexOfZero(b, t, p1);
            if (zz < 0) {
                return null;
            }
            t = zz + 1;
        }
        if (flag == 0) {
            return new Object[] {key, range(b, t, p1)};
        }
        if (method != 0) {
            return null;
        }
        byte[] text = inflate(b, t, p1);
        return text == null ? null : new Object[] {key, text};
    }

    /**
     * nh-spec-v1 section 2: a compressed text chunk inflating to more than this is unreadable (no
     * tag from it). Without the cap a 0.5 MB PNG whose zTXt inflates to 512 MiB threw
     * OutOfMemoryError out of {@link #tag} (found by the bridges' fuzzing review).
     */
    static final int MAX_INFLATED_TEXT = 1 << 20;

    private static byte[] inflate(byte[] b, int from, int to) {
        Inflater inf = new Inflater();
        try {
            inf.setInput(b, from, to - from);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            while (!inf.finished()) {
                int k = inf.inflate(buf);
                if (k == 0 && (inf.needsInput() || inf.needsDictionary())) {
                    return null; // truncated stream
                }
                out.write(buf, 0, k);
                if (out.size() > MAX_INFLATED_TEXT) {
                    return null; // a decompression bomb: malformed, not an OutOfMemoryError
                }
            }
            return out.toByteArray();
        } catch (DataFormatException e) {
            return null;
        } finally {
            inf.end();
        }
    }

    /** ImageMagick's raw profile: lines 4 on are hex (whitespace only between digit pairs). */
    static byte[] rawProfileBytes(byte[] text) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int line = 0;
        int high = -1;
        for (byte c0 : text) {
            int c = c0 & 0xff;
            if (c == '\n') {
                line++;
                continue;
            }
            if (line < 3) {
                continue;
            }
            if (c == ' ' || c == '\t' || c == '\r' || c == 0x0b || c == 0x0c) {
                if (high >= 0) {
                    return null;
                }
                continue;
            }
            int v = Character.digit(c, 16);
            if (v < 0 || c > 'f') {
                return null;
            }
            if (high < 0) {
                high = v;
            } else {
                out.write((high << 4) | v);
                high = -1;
            }
        }
        return high >= 0 ? null : out.toByteArray();
    }

    /** Tag 0x0112 of IFD0 of a TIFF-structured EXIF block (after one or two "Exif\0\0"). */
    static Integer exifOrientation(byte[] block) {
        int s = 0;
        for (int k = 0; k < 2; k++) {
            if (startsWith(block, s, block.length, EXIF_PREFIX)) {
                s += 6;
            }
        }
        final byte[] d = range(block, s, block.length);
        if (d.length < 8) {
            return null;
        }
        final boolean little;
        if (d[0] == 'I' && d[1] == 'I' && d[2] == 0x2a && d[3] == 0) {
            little = true;
        } else if (d[0] == 'M' && d[1] == 'M' && d[2] == 0 && d[3] == 0x2a) {
            little = false;
        } else {
            return null;
        }
        long ifd = u(d, 4, 4, little);
        if (ifd + 2 > d.length) {
            return null;
        }
        int count = (int) u(d, (int) ifd, 2, little);
        if (ifd + 2 + 12L * count > d.length) {
            return null;
        }
        for (int i = 0; i < count; i++) {
            int e = (int) ifd + 2 + 12 * i;
            if (u(d, e, 2, little) != 0x0112) {
                continue;
            }
            int type = (int) u(d, e + 2, 2, little);
            long n = u(d, e + 4, 4, little);
            if (n == 0) {
                return null;
            }
            int size;
            if (type == 3 || type == 8) {
                size = 2;
            } else if (type == 4 || type == 9) {
                size = 4;
            } else {
                return 0; // present, but not an integer type: means 1
            }
            long at = e + 8;
            if (n * size > 4) {
                at = u(d, e + 8, 4, little);
                if (at + size > d.length) {
                    return null;
                }
            }
            long v = u(d, (int) at, size, little);
            if (type == 8) {
                return (int) (short) v;
            }
            if (type == 9 || type == 4) {
                return type == 9 ? (int) v : (v > Integer.MAX_VALUE ? 0 : (int) v);
            }
            return (int) v;
        }
        return null;
    }

    private static long u(byte[] d, int i, int size, boolean little) {
        long v = 0;
        for (int k = 0; k < size; k++) {
            v |= (long) (d[i + (little ? k : size - 1 - k)] & 0xff) << (8 * k);
        }
        return v;
    }

    /** The digit of the first {@code tiff:Orientation="d} or {@code tiff:Orientation>d}. */
    static Integer xmpOrientation(byte[] x) {
        byte[] key = "tiff:Orientation".getBytes(StandardCharsets.ISO_8859_1);
        for (int i = 0; i + key.length + 2 <= x.length; i++) {
            if (!startsWith(x, i, x.length, key)) {
                continue;
            }
            int j = i + key.length;
            if (x[j] == '=' && j + 2 < x.length && x[j + 1] == '"' && x[j + 2] >= '0' && x[j + 2] <= '9') {
                return x[j + 2] - '0';
            }
            if (x[j] == '>' && x[j + 1] >= '0' && x[j + 1] <= '9') {
                return x[j + 1] - '0';
            }
        }
        return null;
    }
}

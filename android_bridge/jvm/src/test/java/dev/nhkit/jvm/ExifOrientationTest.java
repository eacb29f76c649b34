package dev.nhkit.jvm;

import static org.junit.Assert.assertEquals;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

import org.junit.Test;

public class ExifOrientationTest {
    /** A TIFF block whose IFD0 holds one entry: Orientation (SHORT, count 1) = v. */
    static byte[] tiff(int v, boolean big) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.writeBytes(big ? new byte[] {'M', 'M', 0, 42, 0, 0, 0, 8} : new byte[] {'I', 'I', 42, 0, 8, 0, 0, 0});
        short16(o, 1, big);
        short16(o, 0x0112, big);
        short16(o, 3, big);
        int32(o, 1, big);
        short16(o, v, big);
        short16(o, 0, big);
        int32(o, 0, big);
        return o.toByteArray();
    }

    static void short16(ByteArrayOutputStream o, int v, boolean big) {
        o.write(big ? v >> 8 : v & 0xff);
        o.write(big ? v & 0xff : v >> 8);
    }

    static void int32(ByteArrayOutputStream o, int v, boolean big) {
        for (int i = 0; i < 4; i++) {
            o.write(v >>> (big ? 24 - 8 * i : 8 * i));
        }
    }

    static byte[] jpeg(byte[] tiff) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.writeBytes(new byte[] {(byte) 0xff, (byte) 0xd8, (byte) 0xff, (byte) 0xe0, 0, 4, 0, 0}); // APP0
        int len = 2 + 6 + tiff.length;
        o.writeBytes(new byte[] {(byte) 0xff, (byte) 0xe1, (byte) (len >> 8), (byte) len});
        o.writeBytes("Exif\0\0".getBytes(StandardCharsets.ISO_8859_1));
        o.writeBytes(tiff);
        o.writeBytes(new byte[] {(byte) 0xff, (byte) 0xd9});
        return o.toByteArray();
    }

    static byte[] png(byte[] tiff) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10});
        int32(o, 13, true);
        o.writeBytes("IHDR".getBytes(StandardCharsets.US_ASCII));
        o.writeBytes(new byte[13 + 4]);
        int32(o, tiff.length, true);
        o.writeBytes("eXIf".getBytes(StandardCharsets.US_ASCII));
        o.writeBytes(tiff);
        o.writeBytes(new byte[4]);
        return o.toByteArray();
    }

    @Test
    public void jpegApp1BothByteOrders() {
        for (int v = 1; v <= 8; v++) {
            assertEquals(v, ExifOrientation.read(jpeg(tiff(v, true))));
            assertEquals(v, ExifOrientation.read(jpeg(tiff(v, false))));
        }
    }

    @Test
    public void pngExifChunk() {
        assertEquals(6, ExifOrientation.read(png(tiff(6, false))));
        assertEquals(8, ExifOrientation.read(png(tiff(8, true))));
    }

    @Test
    public void outOfRangeTruncatedOrAbsentMeansOne() {
        assertEquals(1, ExifOrientation.read(jpeg(tiff(9, true))));
        assertEquals(1, ExifOrientation.read(jpeg(tiff(0, false))));
        byte[] j = jpeg(tiff(6, true));
        assertEquals(1, ExifOrientation.read(java.util.Arrays.copyOf(j, 20)));
        assertEquals(1, ExifOrientation.read(new byte[] {(byte) 0xff, (byte) 0xd8, (byte) 0xff, (byte) 0xd9}));
        assertEquals(1, ExifOrientation.read("GIF89a".getBytes(StandardCharsets.US_ASCII)));
    }
}

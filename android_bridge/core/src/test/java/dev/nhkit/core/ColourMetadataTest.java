package dev.nhkit.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertSame;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.zip.CRC32;

import org.junit.Test;

/** Colour metadata removed before Android decodes JPEG/PNG; everything else kept byte for byte. */
public class ColourMetadataTest {
    private static byte[] fixture(String name) throws Exception {
        return Files.readAllBytes(new File(TestSupport.repoRoot(), "tests/decode_fixtures/" + name).toPath());
    }

    private static byte[] chunk(String type, byte[] body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] t = type.getBytes(StandardCharsets.ISO_8859_1);
        out.write(body.length >>> 24);
        out.write(body.length >>> 16);
        out.write(body.length >>> 8);
        out.write(body.length);
        out.write(t, 0, 4);
        out.write(body, 0, body.length);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(body);
        long c = crc.getValue();
        out.write((int) (c >>> 24));
        out.write((int) (c >>> 16));
        out.write((int) (c >>> 8));
        out.write((int) c);
        return out.toByteArray();
    }

    private static byte[] insert(byte[] b, int at, byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(b, 0, at);
        for (byte[] p : parts) {
            out.write(p, 0, p.length);
        }
        out.write(b, at, b.length - at);
        return out.toByteArray();
    }

    @Test
    public void pngColourChunksAreRemovedAndNothingElse() throws Exception {
        byte[] png = fixture("png-exif6.png"); // carries an eXIf chunk that must survive
        int afterIhdr = 8 + 25;
        byte[] withColour = insert(png, afterIhdr, chunk("iCCP", "wide\0\0xyz".getBytes(StandardCharsets.ISO_8859_1)),
                chunk("gAMA", new byte[] {0, 0, (byte) 0xb1, (byte) 0x8f}), chunk("cHRM", new byte[32]),
                chunk("sRGB", new byte[] {0}), chunk("cICP", new byte[] {9, 16, 0, 1}));
        assertArrayEquals(png, ColourMetadata.strip(withColour));
        assertSame(png, ColourMetadata.strip(png));
        assertEquals(Integer.valueOf(6), OrientationSource.tag(ColourMetadata.strip(withColour)));
        // The pixels decode the same (the test decoder ignores colour chunks, as the spec does).
        assertArrayEquals(new PngTestDecoder(1).decode(png, "a").pixels.pixels(),
                new PngTestDecoder(1).decode(ColourMetadata.strip(withColour), "b").pixels.pixels());
    }

    @Test
    public void jpegIccSegmentsAreRemovedAndNothingElse() throws Exception {
        byte[] jpg = fixture("jpeg-exif6.jpg");
        byte[] icc = "ICC_PROFILE\0\1\1fake-profile".getBytes(StandardCharsets.ISO_8859_1);
        byte[] app2 = new byte[4 + icc.length];
        app2[0] = (byte) 0xff;
        app2[1] = (byte) 0xe2;
        app2[2] = (byte) ((icc.length + 2) >>> 8);
        app2[3] = (byte) (icc.length + 2);
        System.arraycopy(icc, 0, app2, 4, icc.length);
        byte[] other = {(byte) 0xff, (byte) 0xe2, 0, 6, 'F', 'P', 'X', 'R'}; // APP2, not ICC: kept
        byte[] withIcc = insert(jpg, 2, app2, other, app2);
        assertArrayEquals(insert(jpg, 2, other), ColourMetadata.strip(withIcc));
        assertSame(jpg, ColourMetadata.strip(jpg));
        assertEquals(Integer.valueOf(6), OrientationSource.tag(ColourMetadata.strip(withIcc)));
    }

    @Test
    public void translucentPixelsAreCounted() {
        // 3 x 2 RGBA with 2 bytes of row padding; alpha 255, 0, 254 / 255, 255, 1.
        byte[] rgba = new byte[2 * 14];
        int[] alpha = {255, 0, 254, 255, 255, 1};
        for (int i = 0; i < 6; i++) {
            rgba[(i / 3) * 14 + (i % 3) * 4 + 3] = (byte) alpha[i];
        }
        assertEquals(3, RgbImage.translucentPixels(rgba, 3, 2, 14));
    }

    @Test
    public void otherFormatsAreLeftAlone() {
        byte[] gif = "GIF89a....".getBytes(StandardCharsets.ISO_8859_1);
        assertSame(gif, ColourMetadata.strip(gif));
    }
}

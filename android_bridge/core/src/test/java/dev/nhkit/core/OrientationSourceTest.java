package dev.nhkit.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;

import org.junit.Test;

/**
 * Spec step 2's orientation sources on the shared fixtures (tests/decode_fixtures/expected.json,
 * the files Python and Swift are checked on too).
 */
public class OrientationSourceTest {
    private static File dir() {
        return new File(TestSupport.repoRoot(), "tests/decode_fixtures");
    }

    private static List<Object> fixtures() {
        Map<String, Object> doc = TestSupport.readJsonObject(new File(dir(), "expected.json"));
        List<Object> list = Json.getList(doc, "fixtures", "fixtures");
        assertTrue("too few fixtures", list.size() >= 20);
        return list;
    }

    /**
     * nh-spec-v1 section 2: a compressed text inflating past 1 MiB is ignored, the earlier XMP
     * stands. Before the cap, a 0.5 MB PNG whose zTXt inflates to 512 MiB threw OutOfMemoryError
     * out of tag() (the same files as Python's and Swift's tests).
     */
    @Test
    public void pngTextDecompressionBombIsIgnored() throws IOException {
        assertEquals(Integer.valueOf(6), OrientationSource.tag(bombPng(xmpPadded(3, 0), xmpPadded(6, 0))));
        assertEquals(Integer.valueOf(6), OrientationSource.tag(bombPng(xmpPadded(3, 0), xmpPadded(6, (1 << 20) - 200))));
        assertEquals(Integer.valueOf(3), OrientationSource.tag(bombPng(xmpPadded(3, 0), xmpPadded(6, 1 << 20))));
    }

    private static byte[] xmpPadded(int v, int pad) {
        String x = "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF><rdf:Description "
                + "xmlns:tiff=\"http://ns.adobe.com/tiff/1.0/\" tiff:Orientation=\"" + v + "\"/></rdf:RDF>"
                + "</x:xmpmeta>";
        byte[] head = x.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] out = java.util.Arrays.copyOf(head, head.length + pad);
        java.util.Arrays.fill(out, head.length, out.length, (byte) ' ');
        return out;
    }

    private static byte[] bombPng(byte[]... texts) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        for (byte[] t : texts) {
            java.io.ByteArrayOutputStream z = new java.io.ByteArrayOutputStream();
            try (java.util.zip.DeflaterOutputStream d = new java.util.zip.DeflaterOutputStream(z,
                    new java.util.zip.Deflater(9))) {
                d.write(t);
            }
            java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
            body.write("XML:com.adobe.xmp".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            body.write(new byte[] {0, 0});
            body.write(z.toByteArray());
            writeChunk(out, "zTXt", body.toByteArray());
        }
        writeChunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void writeChunk(java.io.ByteArrayOutputStream out, String type, byte[] body) throws IOException {
        byte[] t = type.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(t);
        crc.update(body);
        out.write(java.nio.ByteBuffer.allocate(4).putInt(body.length).array());
        out.write(t);
        out.write(body);
        out.write(java.nio.ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }

    @Test
    public void everyFixtureGivesTheSpecTag() throws IOException {
        for (Object o : fixtures()) {
            Map<String, Object> fx = Json.asObject(o, "fixture");
            String name = Json.getString(fx, "file", "file");
            byte[] bytes = Files.readAllBytes(new File(dir(), name).toPath());
            assertTrue(name, OrientationSource.covers(bytes));
            Integer raw = OrientationSource.tag(bytes);
            assertEquals(name + ": " + fx.get("why"), Json.getInt(fx, "orientation", "orientation"),
                    Orientation.normaliseTag(raw == null ? 1 : raw));
        }
    }

    @Test
    public void pngFixturesDecodeAndOrientLikePython() throws Exception {
        int checked = 0;
        for (Object o : fixtures()) {
            Map<String, Object> fx = Json.asObject(o, "fixture");
            if (fx.get("decoded") == null) {
                continue;
            }
            String name = Json.getString(fx, "file", "file");
            byte[] bytes = Files.readAllBytes(new File(dir(), name).toPath());
            Integer raw = OrientationSource.tag(bytes);
            DecodedImage d = new PngTestDecoder(Orientation.normaliseTag(raw == null ? 1 : raw))
                    .decode(bytes, name);
            assertEquals(name, Json.getString(fx, "decoded", "decoded"),
                    Orientation.apply(d.pixels, d.exifOrientation).sha256Hex());
            checked++;
        }
        assertTrue(checked >= 10);
    }

    @Test
    public void otherFormatsAndGarbage() {
        byte[] gif = "GIF89a".getBytes(StandardCharsets.ISO_8859_1);
        assertFalse(OrientationSource.covers(gif));
        assertNull(OrientationSource.tag(gif));
        byte[][] junk = {
            {(byte) 0xff, (byte) 0xd8},
            {(byte) 0xff, (byte) 0xd8, (byte) 0xff, (byte) 0xe1, 0},
            {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, (byte) 0xff, 'e', 'X', 'I', 'f'},
            {(byte) 0xff, (byte) 0xd8, (byte) 0xff, (byte) 0xe1, 0, 0x10, 'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0, '*', 0, 0},
        };
        for (byte[] j : junk) {
            assertNull(OrientationSource.tag(j));
        }
        assertNull(OrientationSource.rawProfileBytes("\nexif\n 2\na b\n".getBytes(StandardCharsets.ISO_8859_1)));
        assertArrayEquals(new byte[] {(byte) 0xab, (byte) 0xcd},
                OrientationSource.rawProfileBytes("\nexif\n 2\nab cd\n".getBytes(StandardCharsets.ISO_8859_1)));
    }
}

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

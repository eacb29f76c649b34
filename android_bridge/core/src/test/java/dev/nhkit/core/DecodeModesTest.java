package dev.nhkit.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.Test;

/**
 * Spec step 1 per stored mode on the shared set tests/decode_modes/ (decode_modes.json; Python
 * checks every file, Swift the PNGs): javax.imageio's raster samples through core's
 * {@link StoredSamples}, then spec step 2 with the tag from {@link OrientationSource} for PNG.
 * Lossy files are listed as skipped with the reason (a platform JPEG decoder MAY differ).
 */
public class DecodeModesTest {
    private static File dir() {
        return new File(TestSupport.repoRoot(), "tests/decode_modes");
    }

    /**
     * Why a file is not compared here, or null when it is. The two TIFF quirks do not reach the
     * JVM bridge, whose ImageIoDecoder reads PNG and JPEG only.
     */
    static String skipReason(List<String> flags, String format, String mode) {
        if (flags.contains("Lossy")) {
            return "lossy JPEG: javax.imageio's IDCT is not libjpeg's (spec: a platform decoder MAY differ)";
        }
        if (format.equals("TIFF") && mode.equals("PA")) {
            return "javax.imageio's TIFF reader returns palette+alpha as grey+alpha (the palette is lost)";
        }
        if (format.equals("TIFF") && mode.equals("LAB")) {
            return "javax.imageio's TIFF reader returns CIELab samples as RGB, so the rejection cannot be checked";
        }
        return null;
    }

    @Test
    public void everyReadableModeDecodesToTheReferenceBytes() throws Exception {
        Map<String, Object> doc = TestSupport.readJsonObject(new File(dir(), "decode_modes.json"));
        assertEquals("nh-spec-v1/decode", Json.getString(doc, "algorithm", "algorithm"));
        List<String> checked = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        List<String> failures = new ArrayList<>();
        for (Object g : Json.getList(doc, "testGroups", "testGroups")) {
            for (Object o : Json.getList(Json.asObject(g, "group"), "tests", "tests")) {
                Map<String, Object> t = Json.asObject(o, "test");
                Map<String, Object> in = Json.getObject(t, "input", "input");
                String file = Json.getString(in, "file", "file");
                String label = file + " (" + Json.getString(in, "mode", "mode") + ", "
                        + Json.getString(t, "comment", "comment") + ")";
                String why = skipReason(Json.getStringList(t, "flags", "flags"),
                        Json.getString(in, "format", "format"), Json.getString(in, "mode", "mode"));
                if (why != null) {
                    skipped.add(file + ": " + why);
                    continue;
                }
                byte[] bytes = Files.readAllBytes(new File(dir(), file).toPath());
                boolean valid = Json.getString(t, "result", "result").equals("valid");
                DecodedImage d;
                try {
                    d = new PngTestDecoder().decode(bytes, file);
                } catch (NhkitException.ImageDecodeException e) {
                    if (valid) {
                        failures.add(label + ": rejected: " + e.getMessage());
                    } else {
                        assertTrue(e.getMessage(), e.getMessage().contains(file));
                        checked.add(file);
                    }
                    continue;
                }
                if (!valid) {
                    failures.add(label + ": must be rejected (unsupported mode), was decoded");
                    continue;
                }
                Map<String, Object> e = Json.getObject(t, "expected", "expected");
                RgbImage rgb = Orientation.apply(d.pixels, d.exifOrientation);
                String got = rgb.width() + "x" + rgb.height() + " orientation " + d.exifOrientation
                        + " " + rgb.sha256Hex();
                String want = Json.getInt(e, "width", "width") + "x" + Json.getInt(e, "height", "height")
                        + " orientation " + Json.getInt(e, "orientation", "orientation") + " "
                        + Json.getString(e, "decoded", "decoded");
                if (!got.equals(want)) {
                    failures.add(label + ": got " + got + ", want " + want);
                }
                checked.add(file);
            }
        }
        System.out.println("decode modes (javax.imageio + StoredSamples): " + checked.size()
                + " checked, " + skipped.size() + " skipped:");
        for (String s : skipped) {
            System.out.println("  skipped " + s);
        }
        if (!failures.isEmpty()) {
            fail(failures.size() + " mode(s) disagree with the reference:\n  "
                    + String.join("\n  ", failures));
        }
        assertTrue("too few files checked: " + checked, checked.size() >= 30);
        assertTrue("unexpected skips: " + skipped, skipped.size() <= 5);
    }

    @Test
    public void storedSampleRules() {
        // 2-bit grey scaled, 16-bit high byte (0x7fff -> 127, not rounded to 128), CMYK.
        assertArrayEquals(new byte[] {0, 0, 0, 85, 85, 85, (byte) 170, (byte) 170, (byte) 170},
                StoredSamples.toRgb(3, 1, new int[] {0, 1, 2}, 1, 2, null, false).pixels());
        assertArrayEquals(new byte[] {127, (byte) 128, 1},
                StoredSamples.toRgb(1, 1, new int[] {0x7fff, 0x80ff, 0x0180, 0}, 4, 16, null, false)
                        .pixels());
        assertArrayEquals(new byte[] {(byte) 255, (byte) 255, (byte) 255, 0, 0, 0},
                StoredSamples.toRgb(2, 1, new int[] {1, 0}, 1, 1, null, false).pixels());
        // An index past a 1-entry palette gives (0, 0, 0).
        assertArrayEquals(new byte[] {9, 8, 7, 0, 0, 0},
                StoredSamples.toRgb(2, 1, new int[] {0, 3}, 1, 8, new byte[] {9, 8, 7}, false).pixels());
        // Pillow: CMYK (0, 0, 0, 0) -> white, (255, 0, 0, 0) -> (0, 255, 255), K 255 -> black.
        assertArrayEquals(new byte[] {(byte) 255, (byte) 255, (byte) 255, 0, (byte) 255, (byte) 255, 0, 0, 0},
                StoredSamples.toRgb(3, 1, new int[] {0, 0, 0, 0, 255, 0, 0, 0, 0, 0, 0, 255}, 4, 8, null,
                        true).pixels());
    }
}

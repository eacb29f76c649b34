package dev.nhkit.jvm;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.Test;

/** Locating and pinning libLiteRt.so: every refusal names the file and the remedy. */
public class LiteRtLibraryTest {
    private static String refusal(Path p) {
        try {
            LiteRtLibrary.load(p);
        } catch (LiteRtLibrary.LiteRtUnavailableException e) {
            return e.getMessage();
        }
        fail("loaded " + p);
        return null;
    }

    /** A fake wheel layout: site/ai_edge_litert/libLiteRt.so + site/ai_edge_litert-V.dist-info. */
    private static Path fakeWheel(String version, byte[] lib) throws Exception {
        Path site = JvmTestSupport.tempDir();
        Path pkg = Files.createDirectories(site.resolve("ai_edge_litert"));
        Files.write(pkg.resolve("libLiteRt.so"), lib);
        Path dist = Files.createDirectories(site.resolve("ai_edge_litert-" + version + ".dist-info"));
        Files.write(dist.resolve("METADATA"), ("Metadata-Version: 2.1\nName: ai-edge-litert\nVersion: "
                + version + "\n\nLiteRT\n").getBytes(StandardCharsets.UTF_8));
        return pkg.resolve("libLiteRt.so");
    }

    @Test
    public void missingFileIsNamed() {
        String m = refusal(Path.of("/nonexistent/nhkit/libLiteRt.so"));
        assertTrue(m, m.contains("/nonexistent/nhkit/libLiteRt.so") && m.contains("no such file")
                && m.contains("ai-edge-litert " + LiteRtLibrary.PINNED_VERSION));
    }

    @Test
    public void anotherReleaseIsRefusedBeforeLoading() throws Exception {
        Path lib = fakeWheel("2.2.0", new byte[] {1, 2, 3});
        String m = refusal(lib);
        assertTrue(m, m.contains("is LiteRT 2.2.0") && m.contains("pinned") && m.contains("2.3.0"));
    }

    @Test
    public void libraryOutsideAWheelNeedsItsVersionStated() throws Exception {
        Path f = JvmTestSupport.tempDir().resolve("libLiteRt.so");
        Files.write(f, new byte[] {1});
        String m = refusal(f);
        assertTrue(m, m.contains(LiteRtLibrary.VERSION_PROPERTY) && m.contains(f.toString()));
    }

    @Test
    public void aFileThatIsNoLibraryIsRefused() throws Exception {
        Path lib = fakeWheel(LiteRtLibrary.PINNED_VERSION, "not an ELF file".getBytes(StandardCharsets.US_ASCII));
        String m = refusal(lib);
        assertTrue(m, m.contains("cannot be loaded") && m.contains(lib.toString()));
    }

    @Test
    public void explicitSettingPointingNowhereIsAnError() {
        String old = System.getProperty(LiteRtLibrary.PROPERTY);
        System.setProperty(LiteRtLibrary.PROPERTY, "/nonexistent/dir");
        try {
            LiteRtLibrary.locate();
            fail("located a library in /nonexistent/dir");
        } catch (LiteRtLibrary.LiteRtUnavailableException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("-D" + LiteRtLibrary.PROPERTY + "=/nonexistent/dir"));
        } finally {
            if (old == null) {
                System.clearProperty(LiteRtLibrary.PROPERTY);
            } else {
                System.setProperty(LiteRtLibrary.PROPERTY, old);
            }
        }
    }

    @Test
    public void theInstalledWheelLoadsAndIsThePinnedRelease() {
        LiteRtLibrary lib = JvmTestSupport.library();
        assertEquals(LiteRtLibrary.PINNED_VERSION, lib.version());
        assertTrue(lib.path().toString(), lib.path().getFileName().toString().equals("libLiteRt.so"));
    }
}

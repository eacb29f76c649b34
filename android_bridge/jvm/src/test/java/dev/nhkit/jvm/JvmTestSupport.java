package dev.nhkit.jvm;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import org.junit.Assume;

/** Bundles for the engine tests: {@code -Dnhkit.litert.bundles=DIR} (folders with manifest.json). */
final class JvmTestSupport {
    private JvmTestSupport() {}

    static List<File> bundles() {
        String dir = System.getProperty("nhkit.litert.bundles", "");
        List<File> out = new ArrayList<>();
        File[] kids = dir.isEmpty() ? null : new File(dir).listFiles();
        if (kids != null) {
            Arrays.sort(kids);
            for (File k : kids) {
                if (new File(k, "manifest.json").isFile()) {
                    out.add(k);
                }
            }
        }
        Assume.assumeTrue("no exported TFLite bundles (-Dnhkit.litert.bundles=DIR; android_bridge/test.sh "
                + "exports them when nhkit's export extra is installed)", !out.isEmpty());
        return out;
    }

    static File bundle(String variantSuffix) {
        for (File b : bundles()) {
            if (b.getName().endsWith(variantSuffix)) {
                return b;
            }
        }
        Assume.assumeTrue("no bundle *" + variantSuffix + " under -Dnhkit.litert.bundles", false);
        return null;
    }

    static LiteRtLibrary library() {
        try {
            return LiteRtLibrary.load();
        } catch (LiteRtLibrary.LiteRtUnavailableException e) {
            Assume.assumeTrue("LiteRT not available: " + e.getMessage(), false);
            return null;
        }
    }

    /** A private copy of a bundle folder, to edit. */
    static Path copy(File bundle, Path into) throws IOException {
        Path dst = into.resolve(bundle.getName());
        Path src = bundle.toPath();
        try (Stream<Path> s = Files.walk(src)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path t = dst.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t);
                }
            }
        }
        return dst;
    }

    /** Replaces exactly one occurrence of {@code from} in the copy's manifest.json. */
    static void editManifest(Path bundle, String from, String to) throws IOException {
        Path m = bundle.resolve("manifest.json");
        String s = new String(Files.readAllBytes(m), StandardCharsets.UTF_8);
        int i = s.indexOf(from);
        if (i < 0 || s.indexOf(from, i + 1) >= 0) {
            throw new AssertionError("manifest.json must contain " + from + " exactly once");
        }
        Files.write(m, (s.substring(0, i) + to + s.substring(i + from.length())).getBytes(StandardCharsets.UTF_8));
    }

    /** A file under the repository's tests/vectors: {@code -Dnhkit.repo.root}, else the nearest
     * parent of the working directory that has tests/vectors. */
    static File vectorsFile(String rel) {
        String prop = System.getProperty("nhkit.repo.root", "");
        File root = prop.isEmpty() ? null : new File(prop);
        for (File d = new File(System.getProperty("user.dir")).getAbsoluteFile(); root == null && d != null;
                d = d.getParentFile()) {
            if (new File(d, "tests/vectors").isDirectory()) {
                root = d;
            }
        }
        if (root == null) {
            throw new AssertionError("tests/vectors not found above " + System.getProperty("user.dir")
                    + " (set -Dnhkit.repo.root)");
        }
        return new File(root, "tests/vectors/" + rel);
    }

    /** A fresh folder, removed with everything in it when the JVM exits (File.deleteOnExit
     *  removes only empty folders, and the tests write files into these). */
    static Path tempDir() throws IOException {
        Path d = Files.createTempDirectory("nhkit-jvm-test-");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(d)));
        return d;
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // already gone, or unreadable: nothing more a shutdown hook can do
        }
    }
}

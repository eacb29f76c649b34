package dev.nhkit.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.Assume;
import org.junit.Test;

/**
 * A bundle whose self-test ships separately ({@code nhkit export --selftest separate}): made here
 * from a fixture bundle by moving {@code selftest/} out and rewriting the manifest as the exporter
 * writes it. Without the files the bundle opens with no cases (and the self-test says where they
 * are); unpacked into the bundle they are verified like any listed file.
 */
public class SeparateSelfTestTest {
    private static Path separateCopy(File bundle, Path tmp) throws IOException {
        Path dst = tmp.resolve(bundle.getName());
        copyTree(bundle.toPath(), dst);
        Map<String, Object> m = Json.asObject(Json.parse(Files.readAllBytes(dst.resolve("manifest.json"))), "manifest");
        List<Object> top = new ArrayList<>();
        List<Object> st = new ArrayList<>();
        for (Object o : Json.asList(m.get("files"), "files")) {
            String path = Json.asString(Json.asObject(o, "f").get("path"), "path");
            (path.startsWith("selftest/") ? st : top).add(o);
        }
        m.put("files", top);
        Map<String, Object> selftest = new LinkedHashMap<>(Json.asObject(m.get("selftest"), "selftest"));
        Map<String, Object> archive = new LinkedHashMap<>();
        archive.put("file", bundle.getName() + ".selftest.zip");
        archive.put("sha256", "0000000000000000000000000000000000000000000000000000000000000000");
        archive.put("size", 1L);
        selftest.put("archive", archive);
        selftest.put("files", st);
        m.put("selftest", selftest);
        Files.write(dst.resolve("manifest.json"), Json.writePretty(m).getBytes(StandardCharsets.UTF_8));
        return dst;
    }

    private static void copyTree(Path src, Path dst) throws IOException {
        try (Stream<Path> s = Files.walk(src)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path t = dst.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    private static void deleteTree(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : (Iterable<Path>) s.sorted(java.util.Comparator.reverseOrder())::iterator) {
                Files.delete(q);
            }
        }
    }

    @Test
    public void separateSelfTestIsOptionalAndVerifiedWhenPresent() throws Exception {
        List<File> dirs = FixtureBundleTest.bundleDirs();
        Assume.assumeTrue("no fixture bundle (see FixtureBundleTest)", !dirs.isEmpty());
        Path tmp = Files.createTempDirectory("nhkit-separate-");
        try {
            File src = dirs.get(0);
            Path b = separateCopy(src, tmp);
            Path held = tmp.resolve("held");
            Files.move(b.resolve("selftest"), held);

            Bundle alone = Bundle.open(new DirectoryBundleFiles(b.toFile()));
            assertTrue(alone.selfTestCases().isEmpty());
            assertEquals(src.getName() + ".selftest.zip", alone.manifest().selfTestArchive);
            try {
                SelfTest.run(alone, null, new BundleTest.FakeEngine(), "t", "1", new LinkedHashMap<String, Object>());
                fail("self-test ran without cases");
            } catch (NhkitException.BundleException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("ships its self-test cases separately ("
                        + src.getName() + ".selftest.zip)"));
            }

            Files.move(held, b.resolve("selftest"));
            Bundle full = Bundle.open(new DirectoryBundleFiles(b.toFile()));
            assertEquals(Bundle.open(new DirectoryBundleFiles(src)).selfTestCases().size(),
                    full.selfTestCases().size());

            Path png = b.resolve("selftest").resolve(full.selfTestCases().get(0).source);
            byte[] orig = Files.readAllBytes(png);
            byte[] bad = orig.clone();
            bad[bad.length - 1] ^= 1;
            Files.write(png, bad);
            try {
                Bundle.open(new DirectoryBundleFiles(b.toFile()));
                fail("a tampered self-test file was accepted");
            } catch (NhkitException.BundleException e) {
                assertTrue(e.getMessage(), e.getMessage().contains(full.selfTestCases().get(0).source)
                        && e.getMessage().contains("sha256"));
            }
            Files.write(png, orig);
            Files.write(b.resolve("selftest").resolve("extra.txt"), new byte[] {1});
            try {
                Bundle.open(new DirectoryBundleFiles(b.toFile()));
                fail("an unlisted file was accepted");
            } catch (NhkitException.BundleException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("extra.txt"));
            }
        } finally {
            deleteTree(tmp);
        }
    }
}

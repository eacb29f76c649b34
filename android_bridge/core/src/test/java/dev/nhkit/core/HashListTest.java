package dev.nhkit.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** HashList: reading a folder and a zip, and every bad input of docs/hashlist-format.md. */
public class HashListTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private HashListFixture fixture() {
        return new HashListFixture(HashListFixture.small(), true);
    }

    private File dir(HashListFixture f) throws IOException {
        return f.write(new File(tmp.newFolder(), "known-images"));
    }

    /** Opening must fail with a HashListException whose field is {@code field}. */
    private static HashListException rejects(File list, String field) {
        try {
            HashList.open(list);
        } catch (HashListException e) {
            assertEquals("field of: " + e.getMessage(), field, e.field());
            assertTrue("message names the field: " + e.getMessage(), e.getMessage().contains(field));
            return e;
        }
        fail("accepted a bad list " + list);
        return null;
    }

    @Test
    public void readsFolder() throws Exception {
        HashList l = HashList.open(dir(fixture()));
        assertEquals("known-images", l.listId());
        assertEquals(HashListFixture.FINGERPRINT, l.fingerprint());
        assertEquals(HashListFixture.SEED_SHA, l.seedSha256());
        assertEquals(8, l.size());
        assertEquals(6, l.hashCount());
        assertTrue(l.hasFragile());
        assertNull(l.threshold());
        assertEquals(0.1, l.spec().fragileMargin(), 0.0);
        // Entries in list order: hash bytes, then UTF-8 id (U+FF61 before U+1F600).
        assertEquals("a-dup", l.entry(0).id);
        assertEquals("b-dup", l.entry(1).id);
        assertEquals("\uFF61half", l.entry(4).id);
        assertEquals("\uD83D\uDE00", l.entry(5).id);
        assertEquals("photos/a-dup", l.entry(0).source);
        assertEquals(0, l.entry(0).meta.size());
        try {
            l.entry(0).meta.put("x", 1L);
            fail("meta must be unmodifiable");
        } catch (UnsupportedOperationException expected) {
            // immutable after load
        }
        assertNull(l.entry(6).label); // near3 (e0...) sorts after the 0000... hashes
    }

    @Test
    public void readsZipAndFolderAlike() throws Exception {
        File folder = dir(fixture());
        File zip = HashListFixture.zip(folder, "known-images", new File(tmp.getRoot(), "known-images.zip"));
        HashList a = HashList.open(folder);
        HashList b = HashList.open(zip);
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.entry(i).id, b.entry(i).id);
            assertEquals(a.entry(i).hash, b.entry(i).hash);
        }
    }

    @Test
    public void emptyListIsValid() throws Exception {
        HashList l = HashList.open(dir(new HashListFixture(new ArrayList<>(), false)));
        assertEquals(0, l.size());
        assertEquals(0, l.hashCount());
        assertFalse(l.hasFragile());
    }

    @Test
    public void threshold() throws Exception {
        HashListFixture f = fixture();
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("recommended", 12L);
        t.put("fpr", 0.0);
        t.put("criterion", "zero-fp");
        t.put("negative_pairs", 31125L);
        t.put("negative_images", 250L);
        t.put("drift_p99", 3L);
        t.put("source", "nhkit match calibrate");
        t.put("report_sha256", "ef".repeat(32));
        f.manifest.put("threshold", t);
        HashList l = HashList.open(dir(f));
        assertEquals(12, l.threshold().recommended);
        assertEquals(Integer.valueOf(3), l.threshold().driftP99);
        t.put("recommended", 97L);
        rejects(dir(f), "threshold.recommended");
        t.put("recommended", 12L);
        t.put("negative_images", 1L);
        rejects(dir(f), "threshold.negative_images");
        t.put("negative_images", 250L);
        t.put("criterion", "fpr<=one");
        rejects(dir(f), "threshold.criterion");
        t.put("criterion", "fpr<=1e-3");
        assertEquals("fpr<=1e-3", HashList.open(dir(f)).threshold().criterion);
    }

    // ------------------------------------------------------------------------------ bad input

    @Test
    public void tamperedFile() throws Exception {
        HashListFixture f = fixture();
        File d = dir(f);
        byte[] h = Files.readAllBytes(new File(d, "hashes.bin").toPath());
        h[3] ^= 1;
        Files.write(new File(d, "hashes.bin").toPath(), h);
        HashListException e = rejects(d, "hashes.bin");
        assertTrue(e.getMessage(), e.getMessage().contains("sha256"));
    }

    @Test
    public void truncatedFile() throws Exception {
        File d = dir(fixture());
        byte[] b = Files.readAllBytes(new File(d, "entries.jsonl").toPath());
        Files.write(new File(d, "entries.jsonl").toPath(), java.util.Arrays.copyOf(b, b.length - 5));
        assertTrue(rejects(d, "entries.jsonl").getMessage().contains("size"));
    }

    @Test
    public void unlistedAndMissingFiles() throws Exception {
        File d = dir(fixture());
        Files.write(new File(d, "extra.txt").toPath(), new byte[] {1});
        rejects(d, "extra.txt");
        File d2 = dir(fixture());
        Files.delete(new File(d2, "fragile.bin").toPath());
        rejects(d2, "fragile.bin");
        File d3 = dir(fixture());
        Files.delete(new File(d3, "manifest.json").toPath());
        rejects(d3, "manifest.json");
    }

    @Test
    public void wrongFormatAndVersion() throws Exception {
        HashListFixture f = fixture();
        f.manifest.put("format_version", 2L);
        rejects(dir(f), "format_version");
        f.manifest.put("format_version", 1L);
        f.manifest.put("format", "nhkit-bundle");
        rejects(dir(f), "format");
        f.manifest.put("format", "nhkit-hashlist");
        Object tools = f.manifest.remove("tools"); // required (the schema's rule)
        rejects(dir(f), "tools");
        f.manifest.put("tools", tools);
        @SuppressWarnings("unchecked")
        Map<String, Object> spec = (Map<String, Object>) f.manifest.get("spec");
        spec.remove("hash_bits"); // every spec field is required in a list
        rejects(dir(f), "spec.hash_bits");
        spec.put("hash_bits", 64L);
        rejects(dir(f), "spec");
    }

    @Test
    public void duplicateKeys() throws Exception {
        File d = dir(fixture());
        File m = new File(d, "manifest.json");
        String text = new String(Files.readAllBytes(m.toPath()), StandardCharsets.UTF_8);
        Files.write(m.toPath(), text.replaceFirst("\"list_id\"", "\"list_id\": \"x\",\n  \"list_id\"")
                .getBytes(StandardCharsets.UTF_8));
        assertTrue(rejects(d, "list_id").getMessage().contains("twice"));

        HashListFixture f = fixture();
        String lines = new String(f.files.get("entries.jsonl"), StandardCharsets.UTF_8);
        f.files.put("entries.jsonl", lines.replaceFirst("\"label\"", "\"id\":\"z\",\"label\"")
                .getBytes(StandardCharsets.UTF_8));
        assertTrue(rejects(dir(f), "id").getMessage().contains("twice"));
        // The field path of a nested repeated key, as Python's jsonfile.field_path writes it.
        assertEquals("counts.hashes", duplicateField(
                "{\"a\": [1, {\"x\": 2}], \"counts\": {\"hashes\": 1, \"entries\": 2, \"hashes\": 3}}"));
        assertEquals("files[1].path", duplicateField(
                "{\"files\": [{\"path\": \"a\"}, {\"path\": \"b\", \"p\\u0061th\": \"c\"}]}"));
        Json.parse("{\"a\": {\"a\": \"a\"}, \"b\": [\"a\", \"a\"]}"); // no key repeated in one object
    }

    /** The field path {@link Json} names for a repeated key in {@code text}. */
    private static String duplicateField(String text) {
        try {
            Json.parse(text);
        } catch (Json.JsonException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("duplicate key"));
            return e.field;
        }
        throw new AssertionError("accepted: " + text);
    }

    @Test
    public void countsDisagreeWithSizes() throws Exception {
        HashListFixture f = fixture();
        @SuppressWarnings("unchecked")
        Map<String, Object> counts = (Map<String, Object>) f.manifest.get("counts");
        counts.put("hashes", 5L);
        rejects(dir(f), "hashes.bin");
        counts.put("hashes", 6L);
        counts.put("entries", 9L);
        rejects(dir(f), "fragile.bin"); // 8 masks for 9 entries
        f.files.remove("fragile.bin");
        rejects(dir(f), "offsets.bin"); // offsets end at 8, not 9
    }

    /** A tiny list that claims a huge count (offsets agree) must fail cleanly, not allocate. */
    @Test
    public void hugeClaimedCount() throws Exception {
        List<HashListFixture.In> one = new ArrayList<>();
        one.add(new HashListFixture.In("x", "000000000000000000000001", null, null));
        for (long n : new long[] {Integer.MAX_VALUE - 8L, 0xFFFFFFFFL}) {
            HashListFixture f = new HashListFixture(one, false);
            f.files.put("offsets.bin", concat(HashListFixture.le32(0), HashListFixture.le32(n)));
            @SuppressWarnings("unchecked")
            Map<String, Object> counts = (Map<String, Object>) f.manifest.get("counts");
            counts.put("entries", n);
            rejects(dir(f), n > Integer.MAX_VALUE ? "counts.entries" : "entries.jsonl");
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    public void unsortedHashes() throws Exception {
        HashListFixture f = fixture();
        byte[] h = f.files.get("hashes.bin");
        byte[] swapped = h.clone();
        System.arraycopy(h, 12, swapped, 24, 12);
        System.arraycopy(h, 24, swapped, 12, 12);
        f.files.put("hashes.bin", swapped);
        rejects(dir(f), "hashes.bin");
    }

    @Test
    public void badOffsets() throws Exception {
        HashListFixture f = fixture();
        byte[] o = f.files.get("offsets.bin").clone();
        o[4] = 1; // offsets[1] = 1 instead of 2: line 2 then belongs to the second hash
        f.files.put("offsets.bin", o);
        HashListException e = rejects(dir(f), "hash");
        assertTrue(e.getMessage(), e.getMessage().contains("line 2"));
        HashListFixture g = fixture();
        byte[] p = g.files.get("offsets.bin").clone();
        p[0] = 1;
        g.files.put("offsets.bin", p);
        rejects(dir(g), "offsets.bin");
    }

    @Test
    public void badEntries() throws Exception {
        String[][] cases = {
            // replacement in the first line, field expected
            {"\"label\":\"dup one\"", "\"label\":\"" + "x".repeat(1025) + "\"", "label"},
            {"\"label\":\"dup one\"", "\"label\":7", "label"},
            {"\"meta\":{}", "\"meta\":[]", "meta"},
            {"\"meta\":{}", "\"meta\":{},\"extra\":1", "extra"},
            {"\"id\":\"a-dup\"", "\"id\":\"\"", "id"},
            {"\"id\":\"a-dup\"", "\"id\":\"b-dup\"", "id"},
            {"\"hash\":\"000000000000000000000000\"", "\"hash\":\"00000000000000000000000G\"", "hash"},
            {"\"hash\":\"000000000000000000000000\"", "\"hash\":\"000000000000000000000001\"", "hash"},
            {"\"source\":\"photos/a-dup\"", "\"source\":\"" + "s".repeat(4097) + "\"", "source"},
            {"\"meta\":{}", "\"meta\":{\"k\":\"" + "m".repeat(65 * 1024) + "\"}", "entries.jsonl"},
        };
        for (String[] c : cases) {
            HashListFixture f = fixture();
            String lines = new String(f.files.get("entries.jsonl"), StandardCharsets.UTF_8);
            assertTrue(c[0], lines.contains(c[0]));
            f.files.put("entries.jsonl", lines.replaceFirst(java.util.regex.Pattern.quote(c[0]),
                    java.util.regex.Matcher.quoteReplacement(c[1])).getBytes(StandardCharsets.UTF_8));
            rejects(dir(f), c[2]);
        }
        // meta is not re-measured by readers (the writer limits it; the line cap bounds it).
        HashListFixture big = fixture();
        String bigText = new String(big.files.get("entries.jsonl"), StandardCharsets.UTF_8);
        big.files.put("entries.jsonl", bigText.replaceFirst("\"meta\":\\{\\}", "\"meta\":{\"k\":\""
                + "m".repeat(20 * 1024) + "\"}").getBytes(StandardCharsets.UTF_8));
        HashList withBig = HashList.open(dir(big));
        assertEquals(20 * 1024 + 8, Json.writeCompact(withBig.entry(0).meta).length());
        HashListFixture f = fixture();
        byte[] b = f.files.get("entries.jsonl");
        f.files.put("entries.jsonl", java.util.Arrays.copyOf(b, b.length - 1)); // no final newline
        rejects(dir(f), "entries.jsonl");
        HashListFixture g = fixture();
        g.files.put("entries.jsonl", (new String(g.files.get("entries.jsonl"), StandardCharsets.UTF_8)
                + "\n").getBytes(StandardCharsets.UTF_8));
        rejects(dir(g), "entries.jsonl");
        HashListFixture k = fixture(); // ids of one hash out of UTF-8 order
        String text = new String(k.files.get("entries.jsonl"), StandardCharsets.UTF_8);
        k.files.put("entries.jsonl", text.replace("\"id\":\"a-dup\"", "\"id\":\"c-dup\"")
                .getBytes(StandardCharsets.UTF_8));
        rejects(dir(k), "id");
    }

    @Test
    public void badModelDigests() throws Exception {
        HashListFixture f = fixture();
        @SuppressWarnings("unchecked")
        Map<String, Object> model = (Map<String, Object>) f.manifest.get("model");
        model.put("fingerprint", "AB".repeat(32));
        rejects(dir(f), "model.fingerprint");
        model.put("fingerprint", HashListFixture.FINGERPRINT);
        model.put("seed_sha256", "cd".repeat(31));
        rejects(dir(f), "model.seed_sha256");
    }

    @Test
    public void notJsonAndHugeManifest() throws Exception {
        File d = dir(fixture());
        Files.write(new File(d, "manifest.json").toPath(), "{\"format\": ".getBytes(StandardCharsets.UTF_8));
        rejects(d, "manifest.json");
        File d2 = dir(fixture());
        byte[] huge = new byte[(1 << 20) + 10];
        java.util.Arrays.fill(huge, (byte) ' ');
        Files.write(new File(d2, "manifest.json").toPath(), huge);
        rejects(d2, "manifest.json");
    }

    @Test
    public void badZips() throws Exception {
        File folder = dir(fixture());
        File wrongTop = HashListFixture.zip(folder, "other-name", new File(tmp.getRoot(), "a.zip"));
        rejects(wrongTop, "list_id");
        File evil = new File(tmp.getRoot(), "evil.zip");
        try (OutputStream os = new FileOutputStream(evil); ZipOutputStream z = new ZipOutputStream(os)) {
            z.putNextEntry(new ZipEntry("known-images/../manifest.json"));
            z.write(new byte[] {'{', '}'});
            z.closeEntry();
        }
        rejects(evil, "zip");
        File garbage = new File(tmp.getRoot(), "garbage.zip");
        Files.write(garbage.toPath(), "not a zip at all".getBytes(StandardCharsets.UTF_8));
        rejects(garbage, "zip");
        File full = HashListFixture.zip(folder, "known-images", new File(tmp.getRoot(), "t.zip"));
        byte[] z = Files.readAllBytes(full.toPath());
        Files.write(full.toPath(), java.util.Arrays.copyOf(z, z.length / 2)); // truncated zip
        rejects(full, "zip");
        rejects(new File(tmp.getRoot(), "no-such-list"), "manifest.json");
    }

    /**
     * A valid bundle (BundleTest's, one self-test case) with the given source_model (a sha256 is
     * added when absent: the format requires one) and spec.
     */
    private File bundle(Map<String, Object> sourceModel, Spec spec) throws Exception {
        BundleTest writer = new BundleTest();
        writer.dir = tmp.newFolder();
        Map<String, Object> m = writer.writeBundle(1, 1);
        Map<String, Object> source = new LinkedHashMap<>(sourceModel);
        source.putIfAbsent("sha256", "ab".repeat(32));
        m.put("source_model", source);
        m.put("spec", spec.toJson());
        writer.writeManifest(m);
        return writer.dir;
    }

    @Test
    public void modelCheckAgainstABundle() throws Exception {
        String seedSha = BundleTest.testSeed().sha256Hex();
        Map<String, Object> source = new LinkedHashMap<>();
        source.put("name", "test");
        source.put("fingerprint", HashListFixture.FINGERPRINT);
        Spec spec = new Spec(Spec.OrientationPolicy.APPLY, 0.05);
        Bundle b = Bundle.open(new DirectoryBundleFiles(bundle(source, spec)));
        HashListFixture f = fixture();
        @SuppressWarnings("unchecked")
        Map<String, Object> model = (Map<String, Object>) f.manifest.get("model");
        model.put("seed_sha256", seedSha);
        HashList same = HashList.open(dir(f));
        same.checkModel(b); // same fingerprint and seed; fragile margins may differ
        model.put("seed_sha256", HashListFixture.SEED_SHA);
        HashList otherSeed = HashList.open(dir(f));
        try {
            otherSeed.checkModel(b);
            fail("accepted another seed");
        } catch (HashListException e) {
            assertEquals("model.seed_sha256", e.field());
            assertTrue(e.getMessage(), e.getMessage().contains(seedSha)
                    && e.getMessage().contains(HashListFixture.SEED_SHA));
        }
        Map<String, Object> otherSource = new LinkedHashMap<>(source);
        otherSource.put("fingerprint", "12".repeat(32));
        try {
            same.checkModel(Bundle.open(new DirectoryBundleFiles(bundle(otherSource, spec))));
            fail("accepted another model");
        } catch (HashListException e) {
            assertEquals("model.fingerprint", e.field());
            assertTrue(e.getMessage(), e.getMessage().contains("12".repeat(32))
                    && e.getMessage().contains(HashListFixture.FINGERPRINT));
        }
        try {
            same.checkModel(Bundle.open(new DirectoryBundleFiles(bundle(source,
                    new Spec(Spec.OrientationPolicy.IGNORE, 0.05)))));
            fail("accepted a bundle whose hashes do not compare");
        } catch (HashListException e) {
            assertEquals("spec", e.field());
        }
    }

    @Test
    public void modelCheckNamesBoth() throws Exception {
        HashList l = HashList.open(dir(fixture()));
        l.checkModel(HashListFixture.FINGERPRINT, HashListFixture.SEED_SHA, "test");
        try {
            l.checkModel("11".repeat(32), HashListFixture.SEED_SHA, "bundle x");
            fail("accepted another model");
        } catch (HashListException e) {
            assertEquals("model.fingerprint", e.field());
            assertTrue(e.getMessage().contains("11".repeat(32)));
            assertTrue(e.getMessage().contains(HashListFixture.FINGERPRINT));
        }
        try {
            l.checkModel(HashListFixture.FINGERPRINT, "22".repeat(32), "bundle x");
            fail("accepted another seed");
        } catch (HashListException e) {
            assertEquals("model.seed_sha256", e.field());
            assertTrue(e.getMessage().contains("22".repeat(32)));
            assertTrue(e.getMessage().contains(HashListFixture.SEED_SHA));
        }
    }
}

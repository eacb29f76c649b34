package dev.nhkit.core;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Builds hash lists for the tests, following docs/hashlist-format.md independently of the reader
 * (entries sorted by hash bytes then UTF-8 id, grouped, offsets, fragile masks, manifest with
 * sizes and digests). Tests then alter the files or the manifest to make bad lists.
 */
final class HashListFixture {
    static final String FINGERPRINT = "ab".repeat(32);
    static final String SEED_SHA = "cd".repeat(32);

    /** One entry before sorting. */
    static final class In {
        final String id;
        final String hash;
        final String label;
        final String fragile;

        In(String id, String hash, String label, String fragile) {
            this.id = id;
            this.hash = hash;
            this.label = label;
            this.fragile = fragile;
        }
    }

    /** The files, by name, as bytes (manifest.json is made by {@link #write}). */
    final Map<String, byte[]> files = new TreeMap<>();
    final Map<String, Object> manifest = new LinkedHashMap<>();
    /** The entries in list order. */
    final List<In> sorted;

    HashListFixture(List<In> entries, boolean withFragile) {
        sorted = new ArrayList<>(entries);
        Comparator<In> byHash = (a, b) -> compareBytes(Hex.decode(a.hash), Hex.decode(b.hash));
        sorted.sort(byHash.thenComparing((a, b) -> compareBytes(a.id.getBytes(StandardCharsets.UTF_8),
                b.id.getBytes(StandardCharsets.UTF_8))));
        ByteArrayOutputStream hashes = new ByteArrayOutputStream();
        ByteArrayOutputStream offsets = new ByteArrayOutputStream();
        ByteArrayOutputStream lines = new ByteArrayOutputStream();
        ByteArrayOutputStream fragile = new ByteArrayOutputStream();
        String prev = null;
        int h = 0;
        for (int i = 0; i < sorted.size(); i++) {
            In e = sorted.get(i);
            if (!e.hash.equals(prev)) {
                hashes.writeBytes(Hex.decode(e.hash));
                offsets.writeBytes(le32(i));
                prev = e.hash;
                h++;
            }
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("id", e.id);
            line.put("hash", e.hash);
            line.put("label", e.label);
            line.put("source", "photos/" + e.id);
            line.put("meta", new LinkedHashMap<String, Object>());
            lines.writeBytes((Json.writeCompact(line) + "\n").getBytes(StandardCharsets.UTF_8));
            fragile.writeBytes(Hex.decode(e.fragile == null ? "0".repeat(24) : e.fragile));
        }
        offsets.writeBytes(le32(sorted.size()));
        files.put("entries.jsonl", lines.toByteArray());
        files.put("hashes.bin", hashes.toByteArray());
        files.put("offsets.bin", offsets.toByteArray());
        if (withFragile) {
            files.put("fragile.bin", fragile.toByteArray());
        }
        manifest.put("format", "nhkit-hashlist");
        manifest.put("format_version", 1L);
        manifest.put("list_id", "known-images");
        Map<String, Object> spec = new Spec(Spec.OrientationPolicy.APPLY, 0.1).toJson();
        manifest.put("spec", spec);
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("name", "nhkit-test");
        model.put("fingerprint", FINGERPRINT);
        model.put("seed_sha256", SEED_SHA);
        manifest.put("model", model);
        Map<String, Object> counts = new LinkedHashMap<>();
        counts.put("entries", (long) sorted.size());
        counts.put("hashes", (long) h);
        manifest.put("counts", counts);
        manifest.put("threshold", null);
        manifest.put("files", null);
        Map<String, Object> tools = new LinkedHashMap<>();
        tools.put("nhkit", "test");
        manifest.put("tools", tools);
    }

    static int compareBytes(byte[] a, byte[] b) {
        for (int i = 0; i < Math.min(a.length, b.length); i++) {
            int c = Integer.compare(a[i] & 0xff, b[i] & 0xff);
            if (c != 0) {
                return c;
            }
        }
        return Integer.compare(a.length, b.length);
    }

    static byte[] le32(long v) {
        return new byte[] {(byte) v, (byte) (v >>> 8), (byte) (v >>> 16), (byte) (v >>> 24)};
    }

    /** The manifest's {@code files} for the current bytes. */
    List<Object> fileList() {
        List<Object> out = new ArrayList<>();
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("path", f.getKey());
            e.put("sha256", Digests.sha256Hex(f.getValue()));
            e.put("size", (long) f.getValue().length);
            out.add(e);
        }
        return out;
    }

    /** When false, {@link #write} keeps the manifest's {@code files} as the test set it. */
    boolean recomputeFiles = true;

    /** Writes {@code dir/} (the manifest's files[] made from the current bytes, by default). */
    File write(File dir) throws IOException {
        Files.createDirectories(dir.toPath());
        if (recomputeFiles) {
            manifest.put("files", fileList());
        }
        Files.write(new File(dir, "manifest.json").toPath(),
                (Json.writePretty(manifest) + "\n").getBytes(StandardCharsets.UTF_8));
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            Files.write(new File(dir, f.getKey()).toPath(), f.getValue());
        }
        return dir;
    }

    /** Writes the list as a zip under {@code top/}. */
    static File zip(File folder, String top, File out) throws IOException {
        String[] names = folder.list();
        Arrays.sort(names);
        try (OutputStream os = new FileOutputStream(out); ZipOutputStream z = new ZipOutputStream(os)) {
            for (String n : names) {
                z.putNextEntry(new ZipEntry(top + "/" + n));
                z.write(Files.readAllBytes(new File(folder, n).toPath()));
                z.closeEntry();
            }
        }
        return out;
    }

    /** A fixed small list: a shared hash (two entries), a tie pair, fragile masks. */
    static List<In> small() {
        List<In> l = new ArrayList<>();
        l.add(new In("b-dup", "000000000000000000000000", "dup two", "800000000000000000000000"));
        l.add(new In("a-dup", "000000000000000000000000", "dup one", null));
        l.add(new In("near3", "e00000000000000000000000", null, "c00000000000000000000000"));
        l.add(new In("tie-x", "00000000000000000000000f", "x", null));
        l.add(new In("tie-y", "0000000000000000000000f0", "y", "0000000000000000000000f0"));
        l.add(new In("far", "ffffffffffffffffffffffff", "far", null));
        l.add(new In("\uFF61half", "0000000000000000ffffffff", "utf8 id", null));
        l.add(new In("\uD83D\uDE00", "0000000000000000ffffffff", "astral id", null));
        return l;
    }
}

package dev.nhkit.core;

import static org.junit.Assert.assertEquals;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * The Java handlers of tests/vectors/match_lists.json ({@code nhkit-hashlist-v1/read}) and
 * match_search.json ({@code nhkit-hashlist-v1/search}), called by VectorConformanceTest. Each
 * list is materialised as the folder {@code <list_id>/} in a temporary directory (and, for the
 * read vectors, also as a zip with that top folder: Java reads both and must reach the same
 * verdict).
 */
final class HashListVectorCases {
    private HashListVectorCases() {}

    static final String READ = "nhkit-hashlist-v1/read";
    static final String SEARCH = "nhkit-hashlist-v1/search";

    /** Writes {@code files} (name -> {"hex": ...}) under {@code root/<listId>/}. */
    static File materialise(File root, String listId, Map<String, Object> files) throws IOException {
        File dir = new File(root, listId);
        Files.createDirectories(dir.toPath());
        for (Map.Entry<String, Object> f : files.entrySet()) {
            byte[] bytes = Hex.decode(Json.getString(Json.asObject(f.getValue(), f.getKey()), "hex",
                    f.getKey() + ".hex"));
            Files.write(new File(dir, BundleFiles.checkRelativePath(f.getKey())).toPath(), bytes);
        }
        return dir;
    }

    static File zipOf(File dir, String top, File out) throws IOException {
        Map<String, File> sorted = new TreeMap<>();
        for (File f : dir.listFiles()) {
            sorted.put(f.getName(), f);
        }
        try (OutputStream os = new FileOutputStream(out); ZipOutputStream z = new ZipOutputStream(os)) {
            for (Map.Entry<String, File> f : sorted.entrySet()) {
                z.putNextEntry(new ZipEntry(top + "/" + f.getKey()));
                z.write(Files.readAllBytes(f.getValue().toPath()));
                z.closeEntry();
            }
        }
        return out;
    }

    static void deleteTree(File f) {
        File[] kids = f.listFiles();
        if (kids != null) {
            for (File k : kids) {
                deleteTree(k);
            }
        }
        if (!f.delete() && f.exists()) {
            f.deleteOnExit();
        }
    }

    // -------------------------------------------------------------------------------- read

    static void read(Map<String, Object> in, Map<String, Object> exp, boolean valid) throws IOException {
        File root = Files.createTempDirectory("nhkit-hashlist-vec").toFile();
        try {
            String listId = Json.getString(in, "list_id", "list_id");
            File dir = materialise(root, listId, Json.getObject(in, "files", "files"));
            File zip = zipOf(dir, listId, new File(root, listId + ".zip"));
            for (File source : new File[] {dir, zip}) {
                String what = source == dir ? "folder" : "zip";
                HashList l;
                try {
                    l = HashList.open(source);
                } catch (HashListException e) {
                    if (valid) {
                        throw new AssertionError(what + ": rejected a valid list: " + e.getMessage());
                    }
                    String field = Json.getString(exp, "field", "field");
                    if (!e.getMessage().contains(field)) {
                        throw new AssertionError(what + ": the error must name " + FloatHex.quote(field)
                                + ": " + e.getMessage());
                    }
                    continue;
                }
                if (!valid) {
                    throw new AssertionError(what + ": accepted an invalid list (expected an error naming "
                            + Json.getString(exp, "field", "field") + ")");
                }
                assertEquals(what + " entries", Json.getLong(exp, "entries", "entries"), l.size());
                assertEquals(what + " hashes", Json.getLong(exp, "hashes", "hashes"), l.hashCount());
                assertEquals(what + " list_id", Json.getString(exp, "list_id", "list_id"), l.listId());
                assertEquals(what + " fingerprint", Json.getString(exp, "fingerprint", "fingerprint"),
                        l.fingerprint());
                assertEquals(what + " seed_sha256", Json.getString(exp, "seed_sha256", "seed_sha256"),
                        l.seedSha256());
            }
        } finally {
            deleteTree(root);
        }
    }

    // ------------------------------------------------------------------------------ search

    /** The group's list, loaded (the folder is removed again: the list lives in memory). */
    static HashMatcher prepareSearch(Map<String, Object> params) throws Exception {
        File root = Files.createTempDirectory("nhkit-hashlist-vec").toFile();
        try {
            return HashMatcher.open(materialise(root, Json.getString(params, "list_id", "params.list_id"),
                    Json.getObject(params, "files", "params.files")));
        } finally {
            deleteTree(root);
        }
    }

    static void search(HashMatcher m, Map<String, Object> in, Map<String, Object> exp, boolean valid) {
        NeuralHash q = NeuralHash.fromHex(Json.getString(in, "query", "query"));
        Object fv = in.get("fragile");
        NeuralHash fragile = fv == null ? null : NeuralHash.fromHex(Json.asString(fv, "fragile"));
        int threshold = Json.getInt(in, "threshold", "threshold");
        List<HashMatch> hits;
        try {
            if (in.get("model") != null) {
                Map<String, Object> model = Json.getObject(in, "model", "model");
                m.list().checkModel(Json.getString(model, "fingerprint", "model.fingerprint"),
                        Json.getString(model, "seed_sha256", "model.seed_sha256"), "vector query");
            }
            hits = m.search(q, fragile, threshold);
        } catch (HashListException | IllegalArgumentException e) {
            if (valid) {
                throw new AssertionError("rejected a valid query: " + e.getMessage());
            }
            String field = Json.getString(exp, "field", "field");
            if (!e.getMessage().contains(field)) {
                throw new AssertionError("the error must name " + FloatHex.quote(field) + ": "
                        + e.getMessage());
            }
            return;
        }
        if (!valid) {
            throw new AssertionError("accepted an invalid query (expected an error naming "
                    + Json.getString(exp, "field", "field") + ")");
        }
        List<String> want = new ArrayList<>();
        for (Object o : Json.getList(exp, "hits", "hits")) {
            Map<String, Object> h = Json.asObject(o, "hit");
            want.add(Json.getLong(h, "entry", "entry") + "|" + Json.getString(h, "id", "id") + "|"
                    + h.get("label") + "|" + Json.getLong(h, "distance", "distance") + "|"
                    + Json.getLong(h, "nonfragile_distance", "nonfragile_distance"));
        }
        List<String> got = new ArrayList<>();
        for (HashMatch h : hits) {
            got.add(h.entry + "|" + h.id + "|" + h.label + "|" + h.distance + "|" + h.nonfragileDistance);
        }
        assertEquals("hits", want, got);
    }
}

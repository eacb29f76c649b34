package dev.nhkit.core;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A parsed and checked hash-list {@code manifest.json} (docs/hashlist-format.md, format version
 * 1). Parsing checks the manifest on its own (types, ranges, known keys); {@link HashList} checks
 * it against the files.
 */
public final class HashListManifest {
    public static final String FORMAT = "nhkit-hashlist";
    public static final int FORMAT_VERSION = 1;
    /** The files a version-1 list may hold besides manifest.json; the first three are required. */
    static final String ENTRIES = "entries.jsonl";
    static final String HASHES = "hashes.bin";
    static final String OFFSETS = "offsets.bin";
    static final String FRAGILE = "fragile.bin";

    /** One entry of {@code files}. */
    public static final class FileEntry {
        public final String path;
        public final String sha256;
        public final long size;

        FileEntry(String path, String sha256, long size) {
            this.path = path;
            this.sha256 = sha256;
            this.size = size;
        }
    }

    /** The manifest's {@code threshold}: a recommended T with what it was measured on. */
    public static final class Threshold {
        /** A hit is {@code distance <= recommended}. */
        public final int recommended;
        /** False-positive rate observed at {@link #recommended}. */
        public final double fpr;
        /** {@code zero-fp} or {@code fpr<=X}. */
        public final String criterion;
        public final long negativePairs;
        public final long negativeImages;
        /** Device drift allowed for (bits); {@code null} when none was. */
        public final Integer driftP99;
        public final String source;
        public final String reportSha256;

        Threshold(int recommended, double fpr, String criterion, long negativePairs,
                long negativeImages, Integer driftP99, String source, String reportSha256) {
            this.recommended = recommended;
            this.fpr = fpr;
            this.criterion = criterion;
            this.negativePairs = negativePairs;
            this.negativeImages = negativeImages;
            this.driftP99 = driftP99;
            this.source = source;
            this.reportSha256 = reportSha256;
        }
    }

    public final String listId;
    public final Spec spec;
    public final String modelName;
    /** Weights fingerprint of the model the hashes were made with (64 lowercase hex digits). */
    public final String fingerprint;
    /** sha256 of the seed as 96x128 little-endian float32 (64 lowercase hex digits). */
    public final String seedSha256;
    public final long entryCount;
    public final long hashCount;
    /** {@code null} when the list carries no calibrated threshold. */
    public final Threshold threshold;
    /** Sorted by path. */
    public final List<FileEntry> files;
    /** The whole document, for fields this class does not model ({@code tools}). */
    public final Map<String, Object> raw;

    private HashListManifest(Map<String, Object> m, String src) throws HashListException {
        raw = Collections.unmodifiableMap(m);
        HashListChecks.keys(m, src, "", new String[] {"format", "format_version", "list_id", "spec",
            "model", "counts", "threshold", "files", "tools"}, new String[0]);
        String format = HashListChecks.string(m, "format", src, "format");
        if (!FORMAT.equals(format)) {
            throw new HashListException(src, "format", "is " + FloatHex.quote(format)
                    + ", expected \"" + FORMAT + "\"");
        }
        long version = HashListChecks.integer(m, "format_version", src, "format_version");
        if (version != FORMAT_VERSION) {
            throw new HashListException(src, "format_version", version + " is not supported (this "
                    + "reader knows version " + FORMAT_VERSION + ")");
        }
        listId = HashListChecks.string(m, "list_id", src, "list_id");
        if (!HashListChecks.isListId(listId)) {
            throw new HashListException(src, "list_id", FloatHex.quote(listId) + " does not match "
                    + "[A-Za-z0-9._-]{1,128} (or is \".\" or \"..\")");
        }
        Object specValue = m.get("spec");
        if (!(specValue instanceof Map)) {
            throw new HashListException(src, "spec", "must be an object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> specMap = (Map<String, Object>) specValue;
        HashListChecks.keys(specMap, src, "spec.", new String[] {"id", "orientation", "resize", "size",
            "normalise", "hash_bits", "embedding_dim", "fragile_margin"}, new String[0]);
        try {
            spec = Spec.fromJson(specValue, "spec");
        } catch (IllegalArgumentException e) {
            throw new HashListException(src, "spec", e.getMessage(), e);
        }

        Map<String, Object> model = HashListChecks.object(m, "model", src, "model");
        HashListChecks.keys(model, src, "model.", new String[] {"name", "fingerprint", "seed_sha256"},
                new String[0]);
        modelName = HashListChecks.string(model, "name", src, "model.name");
        HashListChecks.chars(modelName, 1, 256, src, "model.name");
        fingerprint = HashListChecks.hex64(model, "fingerprint", src, "model.fingerprint");
        seedSha256 = HashListChecks.hex64(model, "seed_sha256", src, "model.seed_sha256");

        Map<String, Object> counts = HashListChecks.object(m, "counts", src, "counts");
        HashListChecks.keys(counts, src, "counts.", new String[] {"entries", "hashes"}, new String[0]);
        // Java arrays index with int: more than 2^31 - 9 entries cannot be loaded here anyway.
        entryCount = HashListChecks.range(counts, "entries", src, "counts.entries", 0,
                Integer.MAX_VALUE - 8);
        hashCount = HashListChecks.range(counts, "hashes", src, "counts.hashes", 0, entryCount);
        if ((hashCount == 0) != (entryCount == 0)) {
            throw new HashListException(src, "counts.hashes", hashCount + " hashes for "
                    + entryCount + " entries");
        }

        threshold = m.get("threshold") == null ? null : threshold(
                HashListChecks.object(m, "threshold", src, "threshold"), src);
        files = Collections.unmodifiableList(files(HashListChecks.list(m, "files", src, "files"), src));
        Map<String, Object> tools = HashListChecks.object(m, "tools", src, "tools");
        if (tools.size() > 16) {
            throw new HashListException(src, "tools", "has " + tools.size() + " entries, at most 16");
        }
        for (String k : tools.keySet()) {
            HashListChecks.chars(HashListChecks.string(tools, k, src, "tools." + k), 0, 128, src,
                    "tools." + k);
        }
    }

    private static Threshold threshold(Map<String, Object> t, String src) throws HashListException {
        HashListChecks.keys(t, src, "threshold.", new String[] {"recommended", "fpr", "criterion",
            "negative_pairs", "negative_images", "drift_p99", "source", "report_sha256"}, new String[0]);
        int recommended = (int) HashListChecks.range(t, "recommended", src, "threshold.recommended",
                0, Spec.HASH_BITS);
        double fpr = HashListChecks.number(t, "fpr", src, "threshold.fpr");
        if (!(fpr >= 0.0 && fpr <= 1.0)) {
            throw new HashListException(src, "threshold.fpr", fpr + " is not a rate in 0..1");
        }
        String criterion = HashListChecks.string(t, "criterion", src, "threshold.criterion");
        if (!criterion.matches("zero-fp|fpr<=[0-9.eE+-]+")) {
            throw new HashListException(src, "threshold.criterion", FloatHex.quote(criterion)
                    + " is neither \"zero-fp\" nor \"fpr<=X\"");
        }
        long pairs = HashListChecks.range(t, "negative_pairs", src, "threshold.negative_pairs", 1,
                Long.MAX_VALUE);
        long images = HashListChecks.range(t, "negative_images", src, "threshold.negative_images", 2,
                Long.MAX_VALUE);
        Integer drift = t.get("drift_p99") == null ? null : Integer.valueOf((int) HashListChecks.range(
                t, "drift_p99", src, "threshold.drift_p99", 0, Spec.HASH_BITS));
        String source = HashListChecks.string(t, "source", src, "threshold.source");
        HashListChecks.chars(source, 1, 256, src, "threshold.source");
        String report = HashListChecks.hex64(t, "report_sha256", src, "threshold.report_sha256");
        return new Threshold(recommended, fpr, criterion, pairs, images, drift, source, report);
    }

    private static List<FileEntry> files(List<Object> list, String src) throws HashListException {
        List<FileEntry> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        String previous = null;
        for (int i = 0; i < list.size(); i++) {
            String at = "files[" + i + "]";
            if (!(list.get(i) instanceof Map)) {
                throw new HashListException(src, at, "must be an object");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> f = (Map<String, Object>) list.get(i);
            HashListChecks.keys(f, src, at + ".", new String[] {"path", "sha256", "size"}, new String[0]);
            String path = HashListChecks.string(f, "path", src, at + ".path");
            if (!path.equals(ENTRIES) && !path.equals(HASHES) && !path.equals(OFFSETS)
                    && !path.equals(FRAGILE)) {
                throw new HashListException(src, "files", "lists " + FloatHex.quote(path)
                        + ", which is not a file of a version-" + FORMAT_VERSION + " hash list");
            }
            if (!seen.add(path)) {
                throw new HashListException(src, "files", "lists " + path + " twice");
            }
            if (previous != null && previous.compareTo(path) > 0) {
                throw new HashListException(src, "files", "is not sorted by path (" + previous
                        + " before " + path + ")");
            }
            previous = path;
            String sha = HashListChecks.hex64(f, "sha256", src, at + ".sha256");
            long size = HashListChecks.range(f, "size", src, at + ".size", 0, Integer.MAX_VALUE - 8);
            out.add(new FileEntry(path, sha, size));
        }
        for (String required : new String[] {ENTRIES, HASHES, OFFSETS}) {
            if (!seen.contains(required)) {
                throw new HashListException(src, "files", "does not list " + required
                        + ", which every hash list has");
            }
        }
        return out;
    }

    /**
     * Parses manifest.json bytes.
     *
     * @param source how to name the file in messages (its path)
     * @throws HashListException naming the field at fault
     */
    public static HashListManifest parse(byte[] bytes, String source) throws HashListException {
        Object doc;
        String text;
        try {
            text = HashList.utf8(bytes, 0, bytes.length);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new HashListException(source, "manifest.json", "not valid UTF-8", e);
        }
        try {
            doc = Json.parse(text);
        } catch (Json.JsonException e) {
            throw HashListChecks.jsonError(source, "manifest.json", "", text, e);
        }
        if (!(doc instanceof Map)) {
            throw new HashListException(source, "manifest.json", "must be a JSON object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) doc;
        return new HashListManifest(m, source);
    }

    /** The listed entry for {@code path}, or {@code null}. */
    public FileEntry file(String path) {
        for (FileEntry f : files) {
            if (f.path.equals(path)) {
                return f;
            }
        }
        return null;
    }
}

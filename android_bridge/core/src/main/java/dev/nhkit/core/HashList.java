package dev.nhkit.core;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A verified nhkit hash list (docs/hashlist-format.md, format version 1), loaded whole into
 * memory: every file's size and sha256 checked against the manifest, no unlisted file, counts
 * agreeing with the file sizes, hashes strictly ascending, offsets consistent, every entry line
 * of the schema with its group's hash, ids unique, {@code fragile.bin} of the right size.
 *
 * <p>Immutable after {@link #open}: every method may be called from any thread without
 * synchronisation. Matching is {@link HashMatcher}'s job.
 */
public final class HashList {
    /** Largest manifest.json accepted (a few kB in practice). */
    static final long MAX_MANIFEST_BYTES = 1L << 20;
    static final int MAX_ID_CHARS = 256;
    static final int MAX_LABEL_CHARS = 1024;
    static final int MAX_SOURCE_CHARS = 4096;
    /** Longest entries.jsonl line (the entry schema's limit). */
    static final int MAX_LINE_BYTES = 64 * 1024;

    /** One line of entries.jsonl. Immutable. */
    public static final class Entry {
        /** 0-based line number in entries.jsonl: the tie-breaker of search results. */
        public final int index;
        public final String id;
        public final NeuralHash hash;
        /** {@code null} when the list has none for this entry. */
        public final String label;
        /** Where the hash came from; {@code null} when not recorded. */
        public final String source;
        /** Free-form metadata (unmodifiable), {@code null} when absent. */
        public final Map<String, Object> meta;

        Entry(int index, String id, NeuralHash hash, String label, String source,
                Map<String, Object> meta) {
            this.index = index;
            this.id = id;
            this.hash = hash;
            this.label = label;
            this.source = source;
            this.meta = meta;
        }
    }

    private final String location;
    private final HashListManifest manifest;
    private final List<Entry> entries;
    /** Unique hashes, ascending: bits 0..63 and bits 64..95 (bit 0 most significant). */
    final long[] hashHi;
    final int[] hashLo;
    /** Hash k owns entries offsets[k] .. offsets[k+1]-1. */
    final int[] offsets;
    /** Per-entry fragile masks, or {@code null} when the list has no fragile.bin. */
    final long[] fragileHi;
    final int[] fragileLo;

    private HashList(String location, HashListManifest manifest, List<Entry> entries, long[] hashHi,
            int[] hashLo, int[] offsets, long[] fragileHi, int[] fragileLo) {
        this.location = location;
        this.manifest = manifest;
        this.entries = entries;
        this.hashHi = hashHi;
        this.hashLo = hashLo;
        this.offsets = offsets;
        this.fragileHi = fragileHi;
        this.fragileLo = fragileLo;
    }

    /**
     * Opens a list folder, or a list zip ({@code LIST.zip}, one top folder {@code <list_id>/}).
     *
     * @throws HashListException naming the file and field at fault
     */
    public static HashList open(File folderOrZip) throws HashListException {
        if (folderOrZip.isDirectory()) {
            return open(new DirectoryBundleFiles(folderOrZip), folderOrZip.getPath(), null);
        }
        if (!folderOrZip.isFile()) {
            throw new HashListException(folderOrZip.getPath(), "manifest.json",
                    "no hash list here (neither a folder nor a zip file)");
        }
        ZipHashListFiles zip = ZipHashListFiles.open(folderOrZip);
        try {
            return open(zip, folderOrZip.getPath(), zip.topFolder());
        } finally {
            zip.close();
        }
    }

    /**
     * Opens a list through any {@link BundleFiles} (a folder, APK assets, ...).
     *
     * @throws HashListException naming the file and field at fault
     */
    public static HashList open(BundleFiles files) throws HashListException {
        return open(files, files.describe("manifest.json"), null);
    }

    private static HashList open(BundleFiles files, String location, String requiredListId)
            throws HashListException {
        String manifestName = files.describe("manifest.json");
        byte[] manifestBytes = read(files, "manifest.json", MAX_MANIFEST_BYTES, "manifest.json");
        HashListManifest m = HashListManifest.parse(manifestBytes, manifestName);
        if (requiredListId != null && !requiredListId.equals(m.listId)) {
            throw new HashListException(manifestName, "list_id", FloatHex.quote(m.listId)
                    + " differs from the zip's top folder " + FloatHex.quote(requiredListId));
        }

        List<String> present;
        try {
            present = files.listFiles();
        } catch (IOException e) {
            throw new HashListException(location, "files", "cannot list the list's files: "
                    + e.getMessage(), e);
        }
        Collections.sort(present);
        Set<String> presentSet = new HashSet<>(present);
        byte[] hashes = null;
        byte[] offsetBytes = null;
        byte[] entryBytes = null;
        byte[] fragile = null;
        for (HashListManifest.FileEntry f : m.files) {
            String name = files.describe(f.path);
            if (!presentSet.contains(f.path)) {
                throw new HashListException(name, f.path, "is listed in the manifest's \"files\" but "
                        + "missing");
            }
            byte[] data = read(files, f.path, f.size + 1, f.path);
            if (data.length != f.size) {
                throw new HashListException(name, f.path, "size is " + data.length + " bytes, the "
                        + "manifest says " + f.size);
            }
            String sha = Digests.sha256Hex(data);
            if (!sha.equals(f.sha256)) {
                throw new HashListException(name, f.path, "sha256 is " + sha + ", the manifest says "
                        + f.sha256);
            }
            switch (f.path) {
                case HashListManifest.HASHES: hashes = data; break;
                case HashListManifest.OFFSETS: offsetBytes = data; break;
                case HashListManifest.ENTRIES: entryBytes = data; break;
                default: fragile = data; break;
            }
        }

        for (String p : present) {
            if (!p.equals("manifest.json") && m.file(p) == null) {
                throw new HashListException(files.describe(p), p, "file is in the list but not in "
                        + "the manifest's \"files\"");
            }
        }

        int h = (int) m.hashCount;
        long n = m.entryCount;
        String hashesName = files.describe(HashListManifest.HASHES);
        if (hashes.length != 12L * h) {
            throw new HashListException(hashesName, "hashes.bin", "has " + hashes.length
                    + " bytes, counts.hashes = " + h + " needs " + (12L * h));
        }
        String offsetsName = files.describe(HashListManifest.OFFSETS);
        if (offsetBytes.length != 4L * (h + 1)) {
            throw new HashListException(offsetsName, "offsets.bin", "has "
                    + offsetBytes.length + " bytes, counts.hashes = " + h + " needs " + (4L * (h + 1)));
        }
        String fragileName = files.describe(HashListManifest.FRAGILE);
        if (fragile != null && fragile.length != 12L * n) {
            throw new HashListException(fragileName, "fragile.bin", "has " + fragile.length
                    + " bytes, counts.entries = " + n + " needs " + (12L * n));
        }

        long[] hi = new long[h];
        int[] lo = new int[h];
        ByteBuffer hb = ByteBuffer.wrap(hashes); // big-endian: bit 0 is the top bit of byte 0
        for (int k = 0; k < h; k++) {
            hi[k] = hb.getLong(12 * k);
            lo[k] = hb.getInt(12 * k + 8);
            if (k > 0) {
                int c = HashListChecks.compareUnsigned(hi[k - 1], hi[k]);
                if (c > 0 || c == 0 && HashListChecks.compareUnsigned(lo[k - 1] & 0xFFFFFFFFL,
                        lo[k] & 0xFFFFFFFFL) >= 0) {
                    throw new HashListException(hashesName, "hashes.bin", "hashes are not strictly "
                            + "ascending at hash " + k);
                }
            }
        }

        int[] offsets = new int[h + 1];
        for (int k = 0; k <= h; k++) {
            long v = (offsetBytes[4 * k] & 0xFFL) | (offsetBytes[4 * k + 1] & 0xFFL) << 8
                    | (offsetBytes[4 * k + 2] & 0xFFL) << 16 | (offsetBytes[4 * k + 3] & 0xFFL) << 24;
            if (k == 0 && v != 0) {
                throw new HashListException(offsetsName, "offsets.bin", "offsets[0] is " + v
                        + ", must be 0");
            }
            if (k > 0 && v <= (offsets[k - 1] & 0xFFFFFFFFL)) {
                throw new HashListException(offsetsName, "offsets.bin", "offsets are not strictly "
                        + "increasing at " + k);
            }
            if (v > n) {
                throw new HashListException(offsetsName, "offsets.bin", "offsets[" + k + "] = " + v
                        + " exceeds counts.entries = " + n);
            }
            offsets[k] = (int) v;
        }
        if (offsets[h] != n) {
            throw new HashListException(offsetsName, "offsets.bin", "offsets[" + h + "] is "
                    + offsets[h] + ", must equal counts.entries = " + n);
        }

        List<Entry> entries = HashListEntries.parse(entryBytes, files.describe(HashListManifest.ENTRIES),
                (int) n, hi, lo, offsets);

        long[] fHi = null;
        int[] fLo = null;
        if (fragile != null) {
            fHi = new long[(int) n];
            fLo = new int[(int) n];
            ByteBuffer fb = ByteBuffer.wrap(fragile);
            for (int i = 0; i < n; i++) {
                fHi[i] = fb.getLong(12 * i);
                fLo[i] = fb.getInt(12 * i + 8);
            }
        }
        return new HashList(location, m, entries, hi, lo, offsets, fHi, fLo);
    }

    private static byte[] read(BundleFiles files, String path, long limit, String field)
            throws HashListException {
        try (InputStream in = files.open(path)) {
            return IoUtil.readAll(in, limit);
        } catch (IOException | IllegalArgumentException e) {
            throw new HashListException(files.describe(path), field, "cannot read: " + e.getMessage(), e);
        }
    }

    /** Decodes strict UTF-8 (no replacement characters for bad bytes). */
    static String utf8(byte[] data, int from, int to) throws CharacterCodingException {
        CharsetDecoder dec = Charset.forName("UTF-8").newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        CharBuffer chars = dec.decode(ByteBuffer.wrap(data, from, to - from));
        return chars.toString();
    }

    /**
     * Checks that hashes from {@code bundle} may be matched against this list: same model
     * fingerprint ({@code source_model.fingerprint} of the bundle's manifest), same seed
     * (sha256 of its float32 matrix) and hash-compatible specs.
     *
     * @throws HashListException naming both fingerprints (or seed digests) when they differ, or
     *     when the bundle records no fingerprint
     */
    public void checkModel(Bundle bundle) throws HashListException {
        Object source = bundle.manifest().raw.get("source_model");
        Object fp = source instanceof Map ? ((Map<?, ?>) source).get("fingerprint") : null;
        String bundleName = bundle.files().describe("manifest.json");
        if (!(fp instanceof String)) {
            throw new HashListException(bundleName, "model.fingerprint", "the bundle records no "
                    + "source_model.fingerprint, so it cannot be matched against hash list "
                    + manifest.listId + " (fingerprint " + manifest.fingerprint + ")");
        }
        checkModel((String) fp, bundle.seed().sha256Hex(), bundleName);
        if (!manifest.spec.hashCompatible(bundle.spec())) {
            throw new HashListException(bundleName, "spec", "the bundle's spec " + bundle.spec()
                    + " makes hashes that do not compare with the list's " + manifest.spec);
        }
    }

    /**
     * Checks a model fingerprint and seed digest (64 lowercase hex digits each) against the
     * list's.
     *
     * @param what how to name the hashes' origin in the message (e.g. a bundle path)
     * @throws HashListException naming both values of the first that differs
     */
    public void checkModel(String fingerprint, String seedSha256, String what)
            throws HashListException {
        if (!manifest.fingerprint.equals(fingerprint)) {
            throw new HashListException(what, "model.fingerprint", "hashes made with model "
                    + "fingerprint " + fingerprint + " cannot be matched against hash list "
                    + manifest.listId + ", made with model fingerprint " + manifest.fingerprint);
        }
        if (!manifest.seedSha256.equals(seedSha256)) {
            throw new HashListException(what, "model.seed_sha256", "hashes made with seed sha256 "
                    + seedSha256 + " cannot be matched against hash list " + manifest.listId
                    + ", made with seed sha256 " + manifest.seedSha256);
        }
    }

    /** Where the list was read from (folder, zip or manifest path). */
    public String location() {
        return location;
    }

    public HashListManifest manifest() {
        return manifest;
    }

    public String listId() {
        return manifest.listId;
    }

    public String fingerprint() {
        return manifest.fingerprint;
    }

    public String seedSha256() {
        return manifest.seedSha256;
    }

    public Spec spec() {
        return manifest.spec;
    }

    /** The calibrated threshold, or {@code null} when the list has none. */
    public HashListManifest.Threshold threshold() {
        return manifest.threshold;
    }

    /** Number of entries (lines of entries.jsonl). */
    public int size() {
        return entries.size();
    }

    /** Number of distinct hashes. */
    public int hashCount() {
        return hashHi.length;
    }

    /** Whether the list carries the listed images' fragile masks. */
    public boolean hasFragile() {
        return fragileHi != null;
    }

    /** Entry {@code index} (0-based line of entries.jsonl). */
    public Entry entry(int index) {
        return entries.get(index);
    }

    /** All entries in list order (unmodifiable). */
    public List<Entry> entries() {
        return entries;
    }
}

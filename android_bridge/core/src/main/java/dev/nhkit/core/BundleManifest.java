package dev.nhkit.core;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A parsed {@code manifest.json} (docs/bundle-format.md, format version 1). */
public final class BundleManifest {
    public static final String FORMAT = "nhkit-bundle";
    public static final int FORMAT_VERSION = 1;

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

    public final String bundleId;
    public final Spec spec;
    /** The manifest's {@code spec} object as written (copied into device reports). */
    public final Map<String, Object> specJson;
    public final String target;
    public final String modelFile;
    public final List<ModelIO> inputs;
    public final List<ModelIO> outputs;
    public final String seedFile;
    public final String seedSha256;
    public final List<FileEntry> files;
    /** {@code tolerance.hamming} (lossless cases); 0 when absent. */
    public final int toleranceHamming;
    /** {@code tolerance.lossy_hamming} (lossy cases); {@link #toleranceHamming} when absent. */
    public final int toleranceLossyHamming;
    /**
     * {@code tolerance.nonfragile_flips}: flipped bits allowed outside the reference fragile mask
     * on a lossless case; 0 when absent.
     */
    public final int toleranceNonfragileFlips;
    /**
     * The self-test cases file: {@code selftest.file} of the manifest, else
     * {@code selftest/cases.json} when listed in {@code files}; {@code null} when there is none.
     */
    public final String selfTestFile;
    /** {@code selftest.cases} of the manifest (the expected number of cases), or -1. */
    public final int selfTestCount;
    /**
     * {@code selftest.archive.file} when the self-test ships separately ({@code nhkit export
     * --selftest separate}: {@code <bundle_id>.selftest.zip}), else {@code null}.
     */
    public final String selfTestArchive;
    /** {@code selftest.files}: the separately shipped self-test files; empty otherwise. */
    public final List<FileEntry> selfTestFiles;
    /** The whole document, for fields this class does not model. */
    public final Map<String, Object> raw;

    private BundleManifest(Map<String, Object> m, String source) {
        raw = Collections.unmodifiableMap(m);
        bundleId = Json.getString(m, "bundle_id", source + ": bundle_id");
        specJson = Json.getObject(m, "spec", source + ": spec");
        spec = Spec.fromJson(specJson, source);
        target = Json.getString(m, "target", source + ": target");

        Map<String, Object> model = Json.getObject(m, "model", source + ": model");
        modelFile = BundleFiles.checkRelativePath(Json.getString(model, "file", source + ": model.file"));
        inputs = Collections.unmodifiableList(ModelIO.listFromJson(
                Json.getList(model, "inputs", source + ": model.inputs"), true,
                source + ": model.inputs"));
        outputs = Collections.unmodifiableList(ModelIO.listFromJson(
                Json.getList(model, "outputs", source + ": model.outputs"), false,
                source + ": model.outputs"));
        if (inputs.size() != 1 || outputs.size() != 1) {
            throw new IllegalArgumentException(source + ": the model must have exactly one input and "
                    + "one output, got " + inputs.size() + " and " + outputs.size());
        }

        Map<String, Object> seed = Json.getObject(m, "seed", source + ": seed");
        seedFile = BundleFiles.checkRelativePath(Json.getString(seed, "file", source + ": seed.file"));
        seedSha256 = lowerHex64(Json.getString(seed, "sha256", source + ": seed.sha256"),
                source + ": seed.sha256");
        if (seed.containsKey("rows") && Json.getLong(seed, "rows", source + ": seed.rows") != Seed.ROWS
                || seed.containsKey("cols")
                && Json.getLong(seed, "cols", source + ": seed.cols") != Seed.COLS) {
            throw new IllegalArgumentException(source + ": seed must be " + Seed.ROWS + "x" + Seed.COLS);
        }
        if (seed.containsKey("dtype") && !"float32".equals(Json.getString(seed, "dtype", source
                + ": seed.dtype")) || seed.containsKey("byte_order")
                && !"little".equals(Json.getString(seed, "byte_order", source + ": seed.byte_order"))) {
            throw new IllegalArgumentException(source + ": seed must be little-endian float32");
        }

        Map<String, Boolean> seen = new LinkedHashMap<>();
        files = parseFileList(Json.getList(m, "files", source + ": files"), source + ": files", seen);
        if (!listsFileOrTree(modelFile)) {
            throw new IllegalArgumentException(source + ": model file \"" + modelFile
                    + "\" is not in \"files\", so it cannot be verified");
        }
        if (!seen.containsKey(seedFile)) {
            throw new IllegalArgumentException(source + ": seed file \"" + seedFile
                    + "\" is not in \"files\", so it cannot be verified");
        }

        int tol = 0;
        int lossy = -1;
        int nonfragile = 0;
        if (m.containsKey("tolerance") && m.get("tolerance") != null) {
            Map<String, Object> t = Json.getObject(m, "tolerance", source + ": tolerance");
            if (t.containsKey("hamming")) {
                tol = Json.getInt(t, "hamming", source + ": tolerance.hamming");
            }
            if (t.containsKey("lossy_hamming")) {
                lossy = Json.getInt(t, "lossy_hamming", source + ": tolerance.lossy_hamming");
            }
            if (t.containsKey("nonfragile_flips")) {
                nonfragile = Json.getInt(t, "nonfragile_flips", source + ": tolerance.nonfragile_flips");
            }
        }
        String st = null;
        int stCount = -1;
        String archive = null;
        List<FileEntry> stFiles = Collections.emptyList();
        if (m.get("selftest") != null) {
            Map<String, Object> so = Json.getObject(m, "selftest", source + ": selftest");
            if (so.containsKey("file")) {
                st = BundleFiles.checkRelativePath(Json.getString(so, "file", source + ": selftest.file"));
            }
            if (so.containsKey("cases")) {
                stCount = Json.getInt(so, "cases", source + ": selftest.cases");
            }
            if (so.containsKey("archive") != so.containsKey("files")) {
                throw new IllegalArgumentException(source + ": selftest.archive and selftest.files "
                        + "go together (a self-test shipped separately)");
            }
            if (so.containsKey("archive")) {
                Map<String, Object> a = Json.getObject(so, "archive", source + ": selftest.archive");
                archive = Json.getString(a, "file", source + ": selftest.archive.file");
                lowerHex64(Json.getString(a, "sha256", source + ": selftest.archive.sha256"),
                        source + ": selftest.archive.sha256");
                stFiles = parseFileList(Json.getList(so, "files", source + ": selftest.files"),
                        source + ": selftest.files", new LinkedHashMap<String, Boolean>());
                for (FileEntry e : stFiles) {
                    if (!e.path.startsWith(SelfTestCase.DIR) || seen.containsKey(e.path)) {
                        throw new IllegalArgumentException(source + ": selftest.files: \"" + e.path
                                + "\" must be under " + SelfTestCase.DIR + " and not also in \"files\"");
                    }
                }
            }
        }
        selfTestArchive = archive;
        selfTestFiles = stFiles;
        selfTestCount = stCount;
        if (st == null && seen.containsKey(SelfTestCase.CASES_FILE)) {
            st = SelfTestCase.CASES_FILE;
        }
        selfTestFile = st;
        toleranceHamming = tol;
        toleranceNonfragileFlips = nonfragile;
        toleranceLossyHamming = lossy < 0 ? tol : lossy;
    }

    /** A {@code files}-style list: relative paths, unique and sorted, sha256 and size each. */
    private static List<FileEntry> parseFileList(List<Object> fileList, String where,
            Map<String, Boolean> seen) {
        String previous = null;
        List<FileEntry> entries = new ArrayList<>();
        for (int i = 0; i < fileList.size(); i++) {
            String what = where + "[" + i + "]";
            Map<String, Object> f = Json.asObject(fileList.get(i), what);
            String path;
            try {
                path = BundleFiles.checkRelativePath(Json.getString(f, "path", what + ".path"));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(what + ".path: " + e.getMessage(), e);
            }
            if (path.equals("manifest.json")) {
                throw new IllegalArgumentException(what + ": manifest.json must not list itself");
            }
            if (seen.put(path, Boolean.TRUE) != null) {
                throw new IllegalArgumentException(what + ": \"" + path + "\" is listed twice");
            }
            if (previous != null && previous.compareTo(path) > 0) {
                throw new IllegalArgumentException(what + ": \"files\" must be sorted by path (\""
                        + path + "\" after \"" + previous + "\")");
            }
            previous = path;
            String sha = lowerHex64(Json.getString(f, "sha256", what + ".sha256"), what + ".sha256");
            long size = Json.getLong(f, "size", what + ".size");
            if (size < 0) {
                throw new IllegalArgumentException(what + ".size is negative");
            }
            entries.add(new FileEntry(path, sha, size));
        }
        return Collections.unmodifiableList(entries);
    }

    /**
     * The manifest's keys and JSON types (runtime/schemas/bundle-manifest.v1.schema.json): every
     * field is required except {@code selftest.archive} / {@code selftest.files}; no unknown one.
     */
    static final JsonShape SHAPE;

    static {
        JsonShape s = JsonShape.STRING;
        JsonShape i = JsonShape.INTEGER;
        JsonShape n = JsonShape.NUMBER;
        JsonShape fileEntry = JsonShape.object("path", s, "sha256", s, "size", i);
        JsonShape qIn = JsonShape.objectWithOptional(java.util.Collections.singleton("offset"),
                "scale", n, "zero_point", i, "offset", n, "lut", JsonShape.array(i));
        JsonShape qOut = JsonShape.object("scale", n, "zero_point", i);
        SHAPE = JsonShape.object(
                "format", s, "format_version", i, "bundle_id", s,
                "spec", JsonShape.object("id", s, "orientation", s, "resize", s, "size", i,
                        "normalise", s, "hash_bits", i, "embedding_dim", i, "fragile_margin", n),
                "source_model", JsonShape.object("name", s, "sha256", s, "fingerprint", s),
                "target", s,
                "runtime", JsonShape.object("name", s, "min_version", s),
                "variant", JsonShape.object("name", s, "precision", s, "compression", s),
                "model", JsonShape.object("file", s,
                        "inputs", JsonShape.array(JsonShape.object("name", s,
                                "shape", JsonShape.array(i), "dtype", s, "layout", s,
                                "quantization", qIn.orNull())),
                        "outputs", JsonShape.array(JsonShape.object("name", s,
                                "shape", JsonShape.array(i), "dtype", s,
                                "quantization", qOut.orNull()))),
                "seed", JsonShape.object("file", s, "rows", i, "cols", i, "dtype", s,
                        "byte_order", s, "sha256", s),
                "selftest", JsonShape.objectWithOptional(JsonShape.keys("archive", "files"),
                        "file", s, "cases", i,
                        "archive", JsonShape.object("file", s, "sha256", s, "size", i),
                        "files", JsonShape.array(fileEntry)),
                "files", JsonShape.array(fileEntry),
                // p99 terms and the photo sets of calibration and validation are optional:
                // bundles exported before they existed have none (the schema says the same)
                "drift", JsonShape.objectWithOptional(JsonShape.keys("validation", "calibration"),
                        "reference", s, "images", i, "photos", i,
                        "hamming", JsonShape.objectWithOptional(JsonShape.keys("p99"),
                                "mean", n, "p95", i, "p99", i, "max", i),
                        "bit_exact_rate", n,
                        "embedding", JsonShape.object("max_abs_error", n, "cosine_min", n,
                                "cosine_mean", n),
                        "nonfragile_flips", i, "fragile_flips", i,
                        "budget", JsonShape.objectWithOptional(
                                JsonShape.keys("p99", "nonfragile_flips"),
                                "mean", n, "p99", i.orNull(), "max", i.orNull(),
                                "nonfragile_flips", i.orNull()),
                        "passed", JsonShape.BOOLEAN, "overridden", JsonShape.BOOLEAN,
                        "selftest", JsonShape.object("cases", i, "hamming_max", i,
                                "nonfragile_max", i),
                        "validation", JsonShape.object("folder", s, "photos", i,
                                "views", JsonShape.array(s), "sha256_list", s),
                        "calibration", JsonShape.object("folder", s, "photos", i,
                                "views", JsonShape.array(s), "sha256_list", s,
                                "shared_with_validation", i).orNull()),
                "tolerance", JsonShape.object("hamming", i, "lossy_hamming", i,
                        "nonfragile_flips", i),
                "tools", JsonShape.map(s));
    }

    /**
     * Parses manifest bytes; {@code source} names the file in every error, which then names the
     * field at fault ({@code model.inputs[0].shape}): strict JSON (a UTF-8 BOM tolerated), the
     * format header, every field present with its JSON type and no unknown one, then the values.
     */
    public static BundleManifest parse(byte[] json, String source) {
        Map<String, Object> m;
        try {
            m = SHAPE.readDocument(json, FORMAT, FORMAT_VERSION);
        } catch (Json.JsonException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
        return new BundleManifest(m, source);
    }

    public ModelIO input() {
        return inputs.get(0);
    }

    public ModelIO output() {
        return outputs.get(0);
    }

    /** True when {@code path} is listed, or (a Core ML package directory) files under it are. */
    public boolean listsFileOrTree(String path) {
        for (FileEntry e : files) {
            if (e.path.equals(path) || e.path.startsWith(path + "/")) {
                return true;
            }
        }
        return false;
    }

    public boolean lists(String path) {
        for (FileEntry e : files) {
            if (e.path.equals(path)) {
                return true;
            }
        }
        return false;
    }

    /** True when {@code path} is one of the separately shipped self-test files. */
    public boolean listsSelfTestFile(String path) {
        for (FileEntry e : selfTestFiles) {
            if (e.path.equals(path)) {
                return true;
            }
        }
        return false;
    }

    static String lowerHex64(String s, String what) {
        if (!Hex.isLowerHex(s, 64)) {
            throw new IllegalArgumentException(what + ": expected a sha256 as 64 lowercase hex digits, "
                    + "got " + FloatHex.quote(s));
        }
        return s;
    }
}

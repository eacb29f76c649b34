package dev.nhkit.core;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** One case of a bundle's {@code selftest/cases.json} (docs/bundle-format.md). */
public final class SelfTestCase {
    public static final String FORMAT = "nhkit-selftest";
    public static final String DIR = "selftest/";
    public static final String CASES_FILE = DIR + "cases.json";

    /** Folder of cases.json inside the bundle, with a trailing {@code /} (or empty). */
    private final String dir;
    public final String id;
    /** File name inside {@code selftest/} of the source image. */
    public final String source;
    public final boolean lossless;
    public final int orientation;
    /** File name inside {@code selftest/} of the 360x360x3 RGB8 bytes, or {@code null}. */
    public final String rgb360;
    public final String decodedSha256;
    public final String resizedSha256;
    public final String tensorSha256;
    public final NeuralHash expectedHash;
    public final float[] expectedEmbedding;
    public final double[] expectedProjections;
    public final NeuralHash expectedFragile;

    private SelfTestCase(Map<String, Object> m, String what, String dir) {
        this.dir = dir;
        id = Json.getString(m, "id", what + ".id");
        source = BundleFiles.checkRelativePath(Json.getString(m, "source", what + ".source"));
        lossless = Json.getBoolean(m, "lossless", what + ".lossless");
        orientation = m.containsKey("orientation") ? Json.getInt(m, "orientation", what
                + ".orientation") : 1;
        rgb360 = m.get("rgb360") == null ? null
                : BundleFiles.checkRelativePath(Json.getString(m, "rgb360", what + ".rgb360"));
        Map<String, Object> d = Json.getObject(m, "digests", what + ".digests");
        decodedSha256 = BundleManifest.lowerHex64(Json.getString(d, "decoded", what
                + ".digests.decoded"), what + ".digests.decoded");
        resizedSha256 = BundleManifest.lowerHex64(Json.getString(d, "resized", what
                + ".digests.resized"), what + ".digests.resized");
        tensorSha256 = BundleManifest.lowerHex64(Json.getString(d, "tensor", what
                + ".digests.tensor"), what + ".digests.tensor");
        Map<String, Object> e = Json.getObject(m, "expected", what + ".expected");
        expectedHash = NeuralHash.fromHex(Json.getString(e, "hash", what + ".expected.hash"));
        List<String> emb = Json.getStringList(e, "embedding", what + ".expected.embedding");
        if (emb.size() != Spec.EMBEDDING_DIM) {
            throw new IllegalArgumentException(what + ".expected.embedding: expected "
                    + Spec.EMBEDDING_DIM + " values, got " + emb.size());
        }
        expectedEmbedding = new float[emb.size()];
        for (int i = 0; i < emb.size(); i++) {
            expectedEmbedding[i] = FloatHex.hexToF32(emb.get(i), what + ".expected.embedding[" + i + "]");
        }
        List<String> proj = Json.getStringList(e, "projections", what + ".expected.projections");
        if (proj.size() != Spec.HASH_BITS) {
            throw new IllegalArgumentException(what + ".expected.projections: expected "
                    + Spec.HASH_BITS + " values, got " + proj.size());
        }
        expectedProjections = new double[proj.size()];
        for (int i = 0; i < proj.size(); i++) {
            expectedProjections[i] = FloatHex.hexToF64(proj.get(i), what + ".expected.projections["
                    + i + "]");
        }
        expectedFragile = e.containsKey("fragile")
                ? NeuralHash.fromHex(Json.getString(e, "fragile", what + ".expected.fragile")) : null;
    }

    public String sourcePath() {
        return dir + source;
    }

    public String rgb360Path() {
        return rgb360 == null ? null : dir + rgb360;
    }

    /** The file's keys and JSON types (runtime/schemas/selftest-cases.v1.schema.json). */
    static final JsonShape SHAPE;

    static {
        JsonShape s = JsonShape.STRING;
        // decode_cases (the mode sampler) is optional: bundles exported before it have none
        SHAPE = JsonShape.objectWithOptional(Collections.singleton("decode_cases"),
                "format", s, "format_version", JsonShape.INTEGER, "bundle_id", s,
                "cases", JsonShape.array(JsonShape.object("id", s, "source", s,
                        "lossless", JsonShape.BOOLEAN, "description", s,
                        "orientation", JsonShape.INTEGER, "rgb360", s,
                        "digests", JsonShape.object("decoded", s, "resized", s, "tensor", s),
                        "expected", JsonShape.object("hash", s, "embedding", JsonShape.array(s),
                                "projections", JsonShape.array(s), "fragile", s))),
                "decode_cases", JsonShape.array(JsonShape.object("id", s, "source", s,
                        "mode", s, "description", s, "orientation", JsonShape.INTEGER,
                        "width", JsonShape.INTEGER, "height", JsonShape.INTEGER, "decoded", s)));
    }

    /**
     * Parses {@code selftest/cases.json}; {@code bundleId} (when not null) must match the
     * manifest's. Errors name {@code source} and the field at fault ({@code cases[1].id}): strict
     * JSON (a UTF-8 BOM tolerated), the format header, every field with its JSON type and no
     * unknown one, then the values.
     */
    public static List<SelfTestCase> parseAll(byte[] json, String bundleId, String source) {
        return parseAll(json, bundleId, source, CASES_FILE);
    }

    /**
     * Parses a cases file found at {@code casesPath} inside the bundle (case files are relative
     * to its folder); {@code bundleId} must match the manifest's.
     */
    public static List<SelfTestCase> parseAll(byte[] json, String bundleId, String source,
            String casesPath) {
        int slash = casesPath.lastIndexOf('/');
        String dir = slash < 0 ? "" : casesPath.substring(0, slash + 1);
        Map<String, Object> m;
        try {
            m = SHAPE.readDocument(json, FORMAT, 1);
        } catch (Json.JsonException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
        if (m.containsKey("bundle_id")) {
            String bid = Json.getString(m, "bundle_id", source + ": bundle_id");
            if (bundleId != null && !bundleId.equals(bid)) {
                throw new IllegalArgumentException(source + ": bundle_id \"" + bid
                        + "\" does not match the manifest's \"" + bundleId + "\"");
            }
        }
        List<Object> list = Json.getList(m, "cases", source + ": cases");
        List<SelfTestCase> out = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < list.size(); i++) {
            String what = source + ": cases[" + i + "]";
            SelfTestCase c = new SelfTestCase(Json.asObject(list.get(i), what), what, dir);
            if (!ids.add(c.id)) {
                throw new IllegalArgumentException(what + ".id: duplicate case id \"" + c.id + "\"");
            }
            out.add(c);
        }
        return Collections.unmodifiableList(out);
    }
}

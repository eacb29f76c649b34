package dev.nhkit.core;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * nh-spec-v1 as data (docs/spec/nh-spec-v1.md). The fixed parameters are constants; the two free
 * ones ({@code orientation}, {@code fragile_margin}) are fields. Mirrors
 * {@code nhkit.runtime.spec.Spec}.
 */
public final class Spec {
    public static final String ID = "nh-spec-v1";
    public static final int SIZE = 360;
    public static final int HASH_BITS = 96;
    public static final int EMBEDDING_DIM = 128;
    public static final String RESIZE = "pillow-bicubic-hv";
    public static final String NORMALISE = "v/255*2-1";
    public static final long DEFAULT_MAX_PIXELS = 100_000_000L;

    /** Whether the EXIF orientation tag is applied (spec step 2). */
    public enum OrientationPolicy {
        APPLY("apply"),
        IGNORE("ignore");

        public final String jsonName;

        OrientationPolicy(String jsonName) {
            this.jsonName = jsonName;
        }

        public static OrientationPolicy fromJson(String name) {
            for (OrientationPolicy p : values()) {
                if (p.jsonName.equals(name)) {
                    return p;
                }
            }
            throw new IllegalArgumentException("orientation must be \"apply\" or \"ignore\", got "
                    + FloatHex.quote(name));
        }
    }

    public static final Spec DEFAULT = new Spec(OrientationPolicy.APPLY, 0.0);

    private final OrientationPolicy orientation;
    private final double fragileMargin;

    public Spec(OrientationPolicy orientation, double fragileMargin) {
        if (orientation == null) {
            throw new IllegalArgumentException("orientation must not be null");
        }
        if (!(fragileMargin >= 0.0) || Double.isInfinite(fragileMargin)) {
            throw new IllegalArgumentException("fragile_margin must be a finite number >= 0, got "
                    + fragileMargin);
        }
        this.orientation = orientation;
        this.fragileMargin = fragileMargin;
    }

    public OrientationPolicy orientation() {
        return orientation;
    }

    public double fragileMargin() {
        return fragileMargin;
    }

    /** The canonical JSON object, key order as in manifests, goldens and reports. */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", ID);
        m.put("orientation", orientation.jsonName);
        m.put("resize", RESIZE);
        m.put("size", (long) SIZE);
        m.put("normalise", NORMALISE);
        m.put("hash_bits", (long) HASH_BITS);
        m.put("embedding_dim", (long) EMBEDDING_DIM);
        m.put("fragile_margin", fragileMargin);
        return m;
    }

    /**
     * Parses a {@code spec} object; fields this implementation does not know, or fixed fields
     * with other values, are errors (two hashes only compare under equal specs).
     */
    public static Spec fromJson(Object value, String source) {
        Map<String, Object> m = Json.asObject(value, source + ": spec");
        String id = Json.optString(m, "id", source + ": spec.id", null);
        if (!ID.equals(id)) {
            throw new IllegalArgumentException(source + ": spec id is " + FloatHex.quote(id)
                    + "; this nhkit implements \"" + ID + "\"");
        }
        for (String key : m.keySet()) {
            switch (key) {
                case "id": case "orientation": case "resize": case "size": case "normalise":
                case "hash_bits": case "embedding_dim": case "fragile_margin":
                    break;
                default:
                    throw new IllegalArgumentException(source + ": unknown spec field \"" + key + "\"");
            }
        }
        OrientationPolicy orientation = OrientationPolicy.fromJson(
                Json.optString(m, "orientation", source + ": spec.orientation", "apply"));
        double margin = m.containsKey("fragile_margin")
                ? Json.getDouble(m, "fragile_margin", source + ": spec.fragile_margin") : 0.0;
        expect(m, "resize", RESIZE, source);
        expect(m, "normalise", NORMALISE, source);
        expectInt(m, "size", SIZE, source);
        expectInt(m, "hash_bits", HASH_BITS, source);
        expectInt(m, "embedding_dim", EMBEDDING_DIM, source);
        try {
            return new Spec(orientation, margin);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }

    private static void expect(Map<String, Object> m, String key, String want, String source) {
        if (m.containsKey(key)) {
            String got = Json.getString(m, key, source + ": spec." + key);
            if (!want.equals(got)) {
                throw new IllegalArgumentException(source + ": spec field '" + key + "' is \"" + got
                        + "\"; " + ID + " requires \"" + want + "\"");
            }
        }
    }

    private static void expectInt(Map<String, Object> m, String key, int want, String source) {
        if (m.containsKey(key)) {
            long got = Json.getLong(m, key, source + ": spec." + key);
            if (got != want) {
                throw new IllegalArgumentException(source + ": spec field '" + key + "' is " + got
                        + "; " + ID + " requires " + want);
            }
        }
    }

    /** Hashes compare when everything but the fragile margin (a reporting choice) agrees. */
    public boolean hashCompatible(Spec other) {
        return orientation == other.orientation;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Spec && ((Spec) o).orientation == orientation
                && Double.compare(((Spec) o).fragileMargin, fragileMargin) == 0;
    }

    @Override
    public int hashCode() {
        return orientation.hashCode() * 31 + Double.valueOf(fragileMargin).hashCode();
    }

    @Override
    public String toString() {
        return "Spec{" + ID + ", orientation=" + orientation.jsonName + ", fragile_margin="
                + fragileMargin + "}";
    }
}

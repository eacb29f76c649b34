package dev.nhkit.core;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** A hash with everything needed to judge it: embedding, projections, fragile bits, digests. */
public final class HashResult {
    public final NeuralHash hash;
    /** The model's 128 outputs. */
    public final float[] embedding;
    /** The 96 projections (spec step 6). */
    public final double[] projections;
    /** Bits with {@code |p| < fragile_margin} at the spec's margin. */
    public final NeuralHash fragile;
    /** Stage digests (spec section 9); {@code null} when not computed. */
    public final StageDigests digests;
    /** Milliseconds per stage (keys {@code decode, resize, normalise, model, project}). */
    public final Map<String, Double> timingsMs;

    HashResult(NeuralHash hash, float[] embedding, double[] projections, NeuralHash fragile,
            StageDigests digests, Map<String, Double> timingsMs) {
        this.hash = hash;
        this.embedding = embedding;
        this.projections = projections;
        this.fragile = fragile;
        this.digests = digests;
        this.timingsMs = Collections.unmodifiableMap(new LinkedHashMap<>(timingsMs));
    }

    /** Fragile mask at another margin. */
    public NeuralHash fragileAt(double margin) {
        return Projection.fragileMask(projections, margin);
    }

    /** sha256 of the oriented RGB8, the 360x360 RGB8 and the NCHW float32 LE tensor. */
    public static final class StageDigests {
        public final String decoded;
        public final String resized;
        public final String tensor;

        public StageDigests(String decoded, String resized, String tensor) {
            this.decoded = decoded;
            this.resized = resized;
            this.tensor = tensor;
        }

        public Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("decoded", decoded);
            m.put("resized", resized);
            m.put("tensor", tensor);
            return m;
        }
    }
}

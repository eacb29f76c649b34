package dev.nhkit.core;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The nh-spec-v1 pipeline after decoding: orient (per the spec's policy) -> resize to 360x360 ->
 * normalise -> model -> project -> sign. Exact up to the model input; the model is an
 * {@link EmbeddingEngine}. Thread-safe: calls into the engine are serialised.
 */
public final class HashPipeline {
    private final Seed seed;
    private final Spec spec;
    private final EmbeddingEngine engine;
    private final int resizeThreads;

    public HashPipeline(Seed seed, Spec spec, EmbeddingEngine engine) {
        this(seed, spec, engine, 1);
    }

    /**
     * @param resizeThreads threads for the horizontal resize pass of large images (bands of rows;
     *     the bytes are identical for any count)
     */
    public HashPipeline(Seed seed, Spec spec, EmbeddingEngine engine, int resizeThreads) {
        if (seed == null || spec == null || engine == null) {
            throw new IllegalArgumentException("seed, spec and engine are required");
        }
        if (resizeThreads < 1) {
            throw new IllegalArgumentException("resizeThreads must be >= 1, got " + resizeThreads);
        }
        this.seed = seed;
        this.spec = spec;
        this.engine = engine;
        this.resizeThreads = resizeThreads;
    }

    public Spec spec() {
        return spec;
    }

    public Seed seed() {
        return seed;
    }

    public EmbeddingEngine engine() {
        return engine;
    }

    /** Steps 2-4 of one image: the model input and, optionally, the stage digests. */
    public static final class Prepared {
        public final RgbImage oriented;
        public final RgbImage resized;
        /** Canonical NCHW float32 tensor. */
        public final float[] tensor;
        public final HashResult.StageDigests digests;
        final Map<String, Double> timingsMs;

        Prepared(RgbImage oriented, RgbImage resized, float[] tensor,
                HashResult.StageDigests digests, Map<String, Double> timingsMs) {
            this.oriented = oriented;
            this.resized = resized;
            this.tensor = tensor;
            this.digests = digests;
            this.timingsMs = timingsMs;
        }
    }

    /** Orients (if the spec says {@code apply}), resizes and normalises. */
    public Prepared prepare(DecodedImage image, boolean withDigests) {
        Map<String, Double> t = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        RgbImage oriented = spec.orientation() == Spec.OrientationPolicy.APPLY
                ? Orientation.apply(image.pixels, image.exifOrientation) : image.pixels;
        long t1 = System.nanoTime();
        t.put("orient", ms(t1 - t0));
        RgbImage resized = BicubicResize.resizeTo360(oriented, resizeThreads);
        long t2 = System.nanoTime();
        t.put("resize", ms(t2 - t1));
        float[] tensor = Normalise.toNchw(resized);
        long t3 = System.nanoTime();
        t.put("normalise", ms(t3 - t2));
        HashResult.StageDigests d = null;
        if (withDigests) {
            d = new HashResult.StageDigests(oriented.sha256Hex(), resized.sha256Hex(),
                    Normalise.sha256Hex(tensor));
        }
        return new Prepared(oriented, resized, tensor, d, t);
    }

    /** Hashes a decoded image (no stage digests). */
    public HashResult hash(DecodedImage image) throws NhkitException.ModelException {
        return hash(prepare(image, false));
    }

    /** Runs the model on a prepared tensor and finishes steps 6-7. */
    public HashResult hash(Prepared prepared) throws NhkitException.ModelException {
        Map<String, Double> t = new LinkedHashMap<>(prepared.timingsMs);
        long t0 = System.nanoTime();
        float[] embedding;
        synchronized (engine) {
            embedding = engine.embed(prepared.tensor);
        }
        long t1 = System.nanoTime();
        t.put("model", ms(t1 - t0));
        HashResult r = fromEmbedding(embedding, prepared.digests, t);
        return r;
    }

    /** Steps 6-7 only: an embedding (e.g. computed elsewhere) to a hash. */
    public HashResult fromEmbedding(float[] embedding) throws NhkitException.ModelException {
        return fromEmbedding(embedding, null, new LinkedHashMap<String, Double>());
    }

    private HashResult fromEmbedding(float[] embedding, HashResult.StageDigests d,
            Map<String, Double> t) throws NhkitException.ModelException {
        if (embedding == null || embedding.length != Spec.EMBEDDING_DIM) {
            throw new NhkitException.ModelException(null, "the model returned "
                    + (embedding == null ? "nothing" : embedding.length + " values")
                    + ", expected " + Spec.EMBEDDING_DIM);
        }
        long t0 = System.nanoTime();
        double[] p = Projection.project(seed, embedding);
        NeuralHash hash = Projection.sign(p);
        NeuralHash fragile = Projection.fragileMask(p, spec.fragileMargin());
        t.put("project", ms(System.nanoTime() - t0));
        return new HashResult(hash, embedding.clone(), p, fragile, d, t);
    }

    static double ms(long nanos) {
        return Math.round(nanos / 1000.0) / 1000.0;
    }
}

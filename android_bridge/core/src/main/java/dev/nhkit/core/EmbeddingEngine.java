package dev.nhkit.core;

import java.io.Closeable;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Spec step 5: an inference engine that maps one preprocessed image to a 128-float embedding.
 *
 * <p>{@link #embed} always receives the canonical NCHW float32 tensor of spec step 4
 * ({@code 3*360*360} values, channel R, G, B); an engine whose model wants NHWC or int8 converts
 * internally (see {@link TensorPacker}), so the pipeline never needs to know. Implementations need
 * not be thread-safe; {@link HashPipeline} serialises calls.
 */
public interface EmbeddingEngine extends Closeable {
    float[] embed(float[] nchw) throws NhkitException.ModelException;

    /** What the engine is and how it runs, for device reports. */
    Info info();

    /** The {@code runtime} object of a device report. */
    final class Info {
        public final String name;
        public final String version;
        public final String computeUnit;
        public final int threads;
        /** More descriptive scalar keys for the report's {@code runtime} object (may be empty). */
        public final Map<String, Object> details;

        public Info(String name, String version, String computeUnit, int threads) {
            this(name, version, computeUnit, threads, new LinkedHashMap<String, Object>());
        }

        public Info(String name, String version, String computeUnit, int threads,
                Map<String, Object> details) {
            this.name = name;
            this.version = version;
            this.computeUnit = computeUnit;
            this.threads = threads;
            this.details = new LinkedHashMap<>(details);
        }

        public Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", name);
            m.put("version", version);
            m.put("compute_unit", computeUnit);
            m.put("threads", (long) threads);
            for (Map.Entry<String, Object> e : details.entrySet()) {
                if (!m.containsKey(e.getKey())) {
                    m.put(e.getKey(), e.getValue());
                }
            }
            return m;
        }
    }
}

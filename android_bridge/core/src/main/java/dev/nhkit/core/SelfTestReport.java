package dev.nhkit.core;

import java.nio.charset.Charset;
import java.text.SimpleDateFormat;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TimeZone;

/**
 * A device self-test report (docs/device-report.md, format version 1): what a bridge computed for
 * every case of a bundle, to be judged by {@code nhkit golden check REPORT --bundle B}.
 */
public final class SelfTestReport {
    public static final String FORMAT = "nhkit-device-report";
    public static final int FORMAT_VERSION = 1;

    /** One case's outcome. Either {@link #error} is set, or the results are. */
    public static final class CaseResult {
        public final String id;
        public final HashResult.StageDigests digests;
        public final float[] embedding;
        public final double[] projections;
        public final NeuralHash hash;
        public final Map<String, Double> timingsMs;
        /** The EXIF orientation that was applied (1 if none); 0 when unknown. */
        public final int orientation;
        /** Free-form notes for people (e.g. the decoder's colour space); may be {@code null}. */
        public final String note;
        public final String error;
        /** Lossy cases: the decoder's measured distance from the reference; else {@code null}. */
        public final DecodeDeviation decodeDeviation;

        public CaseResult(String id, HashResult.StageDigests digests, float[] embedding,
                double[] projections, NeuralHash hash, Map<String, Double> timingsMs,
                int orientation, String note) {
            this(id, digests, embedding, projections, hash, timingsMs, orientation, note, null);
        }

        public CaseResult(String id, HashResult.StageDigests digests, float[] embedding,
                double[] projections, NeuralHash hash, Map<String, Double> timingsMs,
                int orientation, String note, DecodeDeviation decodeDeviation) {
            this.decodeDeviation = decodeDeviation;
            this.id = id;
            this.digests = digests;
            this.embedding = embedding;
            this.projections = projections;
            this.hash = hash;
            this.timingsMs = timingsMs;
            this.orientation = orientation;
            this.note = note;
            this.error = null;
        }

        private CaseResult(String id, String error) {
            this.id = id;
            this.digests = null;
            this.embedding = null;
            this.projections = null;
            this.hash = null;
            this.timingsMs = null;
            this.orientation = 0;
            this.note = null;
            this.error = error;
            this.decodeDeviation = null;
        }

        public static CaseResult failed(String id, String error) {
            return new CaseResult(id, error == null ? "failed" : error);
        }

        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", id);
            if (error == null) {
                m.put("digests", digests.toJson());
                m.put("embedding", list(FloatHex.f32ToHex(embedding)));
                m.put("projections", list(FloatHex.f64ToHex(projections)));
                m.put("hash", hash.toHex());
                if (orientation >= 1 && orientation <= 8) {
                    m.put("orientation", (long) orientation);
                }
                if (decodeDeviation != null) {
                    m.put("decode_deviation", decodeDeviation.toJson());
                }
                Map<String, Object> t = new LinkedHashMap<>();
                for (Map.Entry<String, Double> e : timingsMs.entrySet()) {
                    t.put(e.getKey(), e.getValue());
                }
                m.put("timings_ms", t);
            }
            m.put("error", error);
            if (note != null) {
                Map<String, Object> extra = new LinkedHashMap<>();
                extra.put("note", note);
                m.put("extra", extra);
            }
            return m;
        }
    }

    /** One mode sampler case's outcome (report {@code decode_cases}). */
    public static final class DecodeResult {
        public final String id;
        /** sha256 of the oriented RGB8 bytes; {@code null} when {@link #error} is set. */
        public final String decoded;
        public final int orientation;
        public final int width;
        public final int height;
        public final String note;
        public final String error;

        public DecodeResult(String id, String decoded, int orientation, int width, int height,
                String note) {
            this.id = id;
            this.decoded = decoded;
            this.orientation = orientation;
            this.width = width;
            this.height = height;
            this.note = note;
            this.error = null;
        }

        private DecodeResult(String id, String error) {
            this.id = id;
            this.decoded = null;
            this.orientation = 0;
            this.width = 0;
            this.height = 0;
            this.note = null;
            this.error = error;
        }

        public static DecodeResult failed(String id, String error) {
            return new DecodeResult(id, error == null ? "failed" : error);
        }

        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", id);
            if (error == null) {
                m.put("decoded", decoded);
                m.put("orientation", (long) orientation);
                m.put("width", (long) width);
                m.put("height", (long) height);
            }
            m.put("error", error);
            if (note != null) {
                Map<String, Object> extra = new LinkedHashMap<>();
                extra.put("note", note);
                m.put("extra", extra);
            }
            return m;
        }
    }

    private final Map<String, Object> bridge;
    private final Map<String, Object> platform;
    private final Map<String, Object> runtime;
    private final Map<String, Object> bundle;
    private final Map<String, Object> spec;
    private final String created;
    private final List<CaseResult> cases;
    private final List<DecodeResult> decodeCases;
    private final Map<String, Object> extra = new LinkedHashMap<>();

    public SelfTestReport(String bridgeName, String bridgeVersion, Map<String, Object> platform,
            EmbeddingEngine.Info runtime, Bundle bundle, Date created, List<CaseResult> cases) {
        this(bridgeName, bridgeVersion, platform, runtime, bundle, created, cases, null);
    }

    /** @param decodeCases the mode sampler's results, or {@code null} when the bundle has none */
    public SelfTestReport(String bridgeName, String bridgeVersion, Map<String, Object> platform,
            EmbeddingEngine.Info runtime, Bundle bundle, Date created, List<CaseResult> cases,
            List<DecodeResult> decodeCases) {
        this.bridge = new LinkedHashMap<>();
        this.bridge.put("name", bridgeName);
        this.bridge.put("version", bridgeVersion);
        this.platform = new LinkedHashMap<>(platform);
        this.runtime = runtime.toJson();
        this.bundle = new LinkedHashMap<>();
        this.bundle.put("bundle_id", bundle.bundleId());
        this.bundle.put("manifest_sha256", bundle.manifestSha256());
        this.bundle.put("checksums_verified", bundle.checksumsVerified());
        this.bundle.put("target", bundle.manifest().target);
        Object source = bundle.manifest().raw.get("source_model");
        if (source instanceof Map && ((Map<?, ?>) source).get("fingerprint") instanceof String
                && Hex.isLowerHex((String) ((Map<?, ?>) source).get("fingerprint"), 64)) {
            this.bundle.put("source_model_fingerprint", ((Map<?, ?>) source).get("fingerprint"));
        }
        this.spec = new LinkedHashMap<>(bundle.manifest().specJson);
        this.created = isoUtc(created);
        this.cases = Collections.unmodifiableList(new ArrayList<>(cases));
        this.decodeCases = decodeCases == null ? null
                : Collections.unmodifiableList(new ArrayList<>(decodeCases));
    }

    /** {@code 2026-11-21T12:00:00Z} (no java.time: it is not on Android API 24-25). */
    public static String isoUtc(Date date) {
        SimpleDateFormat f = new SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ss'Z'", Locale.ROOT);
        f.setTimeZone(TimeZone.getTimeZone("UTC"));
        return f.format(date);
    }

    public List<CaseResult> cases() {
        return cases;
    }

    /** The mode sampler's results; empty when the bundle has none. */
    public List<DecodeResult> decodeCases() {
        return decodeCases == null ? Collections.<DecodeResult>emptyList() : decodeCases;
    }

    /** Adds a free-form top-level {@code extra} entry (ignored by {@code nhkit golden check}). */
    public SelfTestReport putExtra(String key, Object value) {
        extra.put(key, value);
        return this;
    }

    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format", FORMAT);
        m.put("format_version", (long) FORMAT_VERSION);
        m.put("bridge", bridge);
        m.put("platform", platform);
        m.put("runtime", runtime);
        m.put("bundle", bundle);
        m.put("spec", spec);
        m.put("created", created);
        List<Object> list = new ArrayList<>();
        for (CaseResult c : cases) {
            list.add(c.toJson());
        }
        m.put("cases", list);
        if (decodeCases != null) {
            List<Object> decode = new ArrayList<>();
            for (DecodeResult d : decodeCases) {
                decode.add(d.toJson());
            }
            m.put("decode_cases", decode);
        }
        if (!extra.isEmpty()) {
            m.put("extra", new LinkedHashMap<>(extra));
        }
        return m;
    }

    /** The report as pretty-printed UTF-8 JSON with a trailing newline. */
    public byte[] toJsonBytes() {
        return Json.writePretty(toJson()).getBytes(Charset.forName("UTF-8"));
    }

    /**
     * A quick on-device verdict against the bundle's expectations (the authoritative check is
     * {@code nhkit golden check} on the host): errors, stage digests of lossless cases that differ
     * from the reference, hashes farther than the manifest's tolerance, and (lossless cases) more
     * flips outside the reference fragile mask than {@code tolerance.nonfragile_flips}, and mode
     * sampler cases whose decode differs (naming the mode). Empty when all pass.
     */
    public static List<String> problems(Bundle bundle, SelfTestReport report) {
        List<String> out = new ArrayList<>();
        Map<String, CaseResult> byId = new LinkedHashMap<>();
        for (CaseResult r : report.cases) {
            byId.put(r.id, r);
        }
        BundleManifest m = bundle.manifest();
        for (SelfTestCase c : bundle.selfTestCases()) {
            CaseResult r = byId.get(c.id);
            if (r == null) {
                out.add(c.id + ": missing from the report");
                continue;
            }
            if (r.error != null) {
                out.add(c.id + ": error: " + r.error);
                continue;
            }
            if (c.lossless) {
                compare(out, c.id, "decoded", c.decodedSha256, r.digests.decoded);
                compare(out, c.id, "resized", c.resizedSha256, r.digests.resized);
                compare(out, c.id, "tensor", c.tensorSha256, r.digests.tensor);
            }
            int tol = c.lossless ? m.toleranceHamming : m.toleranceLossyHamming;
            int d = r.hash.hamming(c.expectedHash);
            if (d > tol) {
                out.add(c.id + ": hash " + r.hash + " is " + d + " bits from the reference "
                        + c.expectedHash + " (tolerance " + tol + ")");
            } else if (c.lossless && c.expectedFragile != null) {
                int outside = 0;
                for (int i = 0; i < NeuralHash.BITS; i++) {
                    if (r.hash.bit(i) != c.expectedHash.bit(i) && !c.expectedFragile.bit(i)) {
                        outside++;
                    }
                }
                if (outside > m.toleranceNonfragileFlips) {
                    out.add(c.id + ": " + outside + " flipped bits outside the reference fragile mask "
                            + "(tolerance.nonfragile_flips " + m.toleranceNonfragileFlips + ")");
                }
            }
        }
        Map<String, DecodeResult> decoded = new LinkedHashMap<>();
        for (DecodeResult d : report.decodeCases()) {
            decoded.put(d.id, d);
        }
        for (DecodeCase c : bundle.decodeCases()) {
            DecodeResult d = decoded.get(c.id);
            String what = c.id + " (mode " + c.mode + ")";
            if (d == null) {
                out.add(what + ": missing from the report");
            } else if (d.error != null) {
                out.add(what + ": error: " + d.error);
            } else if (!c.decodedSha256.equals(d.decoded) || c.orientation != d.orientation
                    || c.width != d.width || c.height != d.height) {
                out.add(what + ": decoded " + d.width + "x" + d.height + " orientation "
                        + d.orientation + " digest " + d.decoded + ", reference " + c.width + "x"
                        + c.height + " orientation " + c.orientation + " digest " + c.decodedSha256);
            }
        }
        return out;
    }

    private static void compare(List<String> out, String id, String stage, String want, String got) {
        if (!want.equals(got)) {
            out.add(id + ": " + stage + " digest " + got + " differs from the reference " + want);
        }
    }

    private static List<Object> list(String[] items) {
        List<Object> l = new ArrayList<>(items.length);
        Collections.addAll(l, (Object[]) items);
        return l;
    }
}

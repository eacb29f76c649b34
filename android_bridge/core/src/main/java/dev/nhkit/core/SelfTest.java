package dev.nhkit.core;

import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs every self-test case of a bundle through a platform's own decoder and engine and builds
 * the device report. Platform-neutral: the Android bridge supplies a BitmapFactory decoder and a
 * LiteRT engine.
 */
public final class SelfTest {
    /** Largest self-test source file read into memory. */
    static final long MAX_SOURCE_BYTES = 256L * 1024 * 1024;

    private SelfTest() {}

    /**
     * Runs every case; a failing case is recorded in the report with its error, never thrown.
     *
     * @throws NhkitException.BundleException when the bundle has no self-test cases (a device
     *     report needs at least one)
     */
    public static SelfTestReport run(Bundle bundle, ImageDecoder decoder, EmbeddingEngine engine,
            String bridgeName, String bridgeVersion, Map<String, Object> platform)
            throws NhkitException.BundleException {
        if (bundle.selfTestCases().isEmpty()) {
            String archive = bundle.manifest().selfTestArchive;
            throw new NhkitException.BundleException(bundle.files().describe("manifest.json"),
                    "bundle " + bundle.bundleId() + (archive == null ? " has no self-test cases"
                            : " ships its self-test cases separately (" + archive + "): unpack "
                            + "that archive into the bundle's parent folder to run the self-test"));
        }
        HashPipeline pipeline = new HashPipeline(bundle.seed(), bundle.spec(), engine);
        List<SelfTestReport.CaseResult> results = new ArrayList<>();
        for (SelfTestCase c : bundle.selfTestCases()) {
            results.add(runCase(bundle, pipeline, decoder, c));
        }
        List<SelfTestReport.DecodeResult> decodeResults = new ArrayList<>();
        for (DecodeCase d : bundle.decodeCases()) {
            decodeResults.add(runDecodeCase(bundle, decoder, d));
        }
        return new SelfTestReport(bridgeName, bridgeVersion, platform, engine.info(), bundle,
                new Date(), results, bundle.decodeCases().isEmpty() ? null : decodeResults);
    }

    /**
     * One mode sampler case: spec steps 1-2 with the platform decoder and the decoded digest of
     * the oriented pixels; any failure becomes the case's {@code error}.
     */
    public static SelfTestReport.DecodeResult runDecodeCase(Bundle bundle, ImageDecoder decoder,
            DecodeCase d) {
        try {
            String path = d.sourcePath();
            byte[] encoded = Bundle.read(bundle.files(), path, MAX_SOURCE_BYTES);
            DecodedImage decoded = decoder.decode(encoded, bundle.files().describe(path));
            int applied = bundle.spec().orientation() == Spec.OrientationPolicy.APPLY
                    ? Orientation.normaliseTag(decoded.exifOrientation) : 1;
            RgbImage upright = Orientation.apply(decoded.pixels, applied);
            return new SelfTestReport.DecodeResult(d.id, upright.sha256Hex(), applied,
                    upright.width(), upright.height(), decoded.note);
        } catch (Exception e) {
            return SelfTestReport.DecodeResult.failed(d.id, describe(e));
        } catch (OutOfMemoryError e) {
            return SelfTestReport.DecodeResult.failed(d.id, "out of memory: " + e.getMessage());
        }
    }

    /** One case; any failure becomes the case's {@code error}, never an exception. */
    public static SelfTestReport.CaseResult runCase(Bundle bundle, HashPipeline pipeline,
            ImageDecoder decoder, SelfTestCase c) {
        try {
            String path = c.sourcePath();
            long t0 = System.nanoTime();
            byte[] encoded = Bundle.read(bundle.files(), path, MAX_SOURCE_BYTES);
            DecodedImage decoded = decoder.decode(encoded, bundle.files().describe(path));
            double decodeMs = HashPipeline.ms(System.nanoTime() - t0);
            HashPipeline.Prepared p = pipeline.prepare(decoded, true);
            HashResult r = pipeline.hash(p);
            Map<String, Double> t = new LinkedHashMap<>();
            // "decode" covers reading, decoding and orienting the file (spec steps 1-2); the
            // stage digests are not timed.
            t.put("decode", decodeMs + r.timingsMs.get("orient"));
            t.put("resize", r.timingsMs.get("resize"));
            t.put("normalise", r.timingsMs.get("normalise"));
            t.put("model", r.timingsMs.get("model"));
            t.put("project", r.timingsMs.get("project"));
            for (Map.Entry<String, Double> e : t.entrySet()) {
                e.setValue(Math.max(0.0, Math.round(e.getValue() * 1000.0) / 1000.0));
            }
            int applied = bundle.spec().orientation() == Spec.OrientationPolicy.APPLY
                    ? Orientation.normaliseTag(decoded.exifOrientation) : 1;
            // Lossy cases: measure how far the platform decoder moved the resized bytes.
            DecodeDeviation deviation = null;
            if (!c.lossless && c.rgb360Path() != null) {
                byte[] reference = Bundle.read(bundle.files(), c.rgb360Path(), 360L * 360 * 3);
                deviation = DecodeDeviation.measure(p.resized.pixels(), reference, r.hash,
                        c.expectedHash);
            }
            return new SelfTestReport.CaseResult(c.id, r.digests, r.embedding, r.projections,
                    r.hash, t, applied, decoded.note, deviation);
        } catch (Exception e) {
            return SelfTestReport.CaseResult.failed(c.id, describe(e));
        } catch (OutOfMemoryError e) {
            return SelfTestReport.CaseResult.failed(c.id, "out of memory: " + e.getMessage());
        }
    }

    static String describe(Throwable e) {
        if (e instanceof NhkitException) {
            return e.getMessage();
        }
        return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
    }
}

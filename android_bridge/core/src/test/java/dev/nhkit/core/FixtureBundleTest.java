package dev.nhkit.core;

import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.Assume;
import org.junit.Test;

/**
 * Checks the core against real bundles written by {@code nhkit export} (the Python reference):
 * stage digests up to the model input, and projections/hash/fragile from the reference embedding,
 * bit for bit. Bundles are found via {@code -Dnhkit.bundle.dir=DIR[:DIR...]}, the environment
 * variable {@code NHKIT_TEST_BUNDLE}, or by scanning {@link #SEARCH} under the repository root for
 * folders holding a {@code manifest.json}. Skipped (reported as such) when there is none.
 * android_bridge/test.sh passes the bundles tests/fixture_bundles.py exports (a cache keyed on the
 * working tree's content); no build folder is scanned, so a stale export is never used.
 */
public class FixtureBundleTest {
    /** Folders (relative to the repo root) whose sub-folders may be bundles. */
    static final String[] SEARCH = {"tests/data/bundles", "tests/fixtures/bundles", "tests/fixtures",
        "tests/data", "export/fixtures", "out/bundles"};

    static List<File> bundleDirs() {
        List<File> out = new ArrayList<>();
        String spec = System.getProperty("nhkit.bundle.dir");
        if (spec == null || spec.isEmpty()) {
            spec = System.getenv("NHKIT_TEST_BUNDLE");
        }
        if (spec != null && !spec.isEmpty()) {
            for (String p : spec.split(File.pathSeparator)) {
                if (!p.isEmpty()) {
                    out.add(new File(p).getAbsoluteFile());
                }
            }
            return out; // explicit: a missing folder must fail, not be skipped
        }
        File root = TestSupport.repoRoot();
        for (String s : SEARCH) {
            File[] kids = new File(root, s).listFiles();
            if (kids == null) {
                continue;
            }
            Arrays.sort(kids);
            for (File k : kids) {
                if (new File(k, "manifest.json").isFile() && !out.contains(k)) {
                    out.add(k);
                }
            }
        }
        return out;
    }

    @Test
    public void stageDigestsAndHashesMatchTheReference() throws Exception {
        List<File> dirs = bundleDirs();
        Assume.assumeTrue("no bundle found: set -Dnhkit.bundle.dir=DIR or NHKIT_TEST_BUNDLE, or put "
                + "one under " + Arrays.toString(SEARCH), !dirs.isEmpty());
        List<String> failures = new ArrayList<>();
        int casesChecked = 0;
        for (File dir : dirs) {
            if (!new File(dir, "manifest.json").isFile()) {
                fail("bundle folder " + dir + " has no manifest.json");
            }
            Bundle b = Bundle.open(new DirectoryBundleFiles(dir));
            assertTrue(dir + " has no self-test cases", !b.selfTestCases().isEmpty());
            ModelIO in = b.manifest().input();
            if (in.dtype == ModelIO.DType.INT8) {
                // The manifest's per-byte int8 table is the Python backend's quantize_input; the
                // Java formula (used when a manifest has no table) must agree on all 256 bytes.
                for (int v = 0; v < 256; v++) {
                    byte formula = TensorPacker.quantize(Normalise.value(v), in.scale, in.zeroPoint,
                            in.offset);
                    if (formula != in.quantizedPixel(v)) {
                        failures.add(b.bundleId() + " int8 input lut[" + v + "] = "
                                + in.quantizedPixel(v) + ", TensorPacker.quantize gives " + formula);
                    }
                }
            }
            for (SelfTestCase c : b.selfTestCases()) {
                casesChecked++;
                checkCase(b, c, failures);
            }
            checkSelfTestRun(b, dir, failures);
            System.out.println("  bundle " + b.bundleId() + ": " + b.selfTestCases().size()
                    + " self-test cases checked (" + dir + ")");
        }
        if (!failures.isEmpty()) {
            fail(failures.size() + " problems in " + casesChecked + " cases:\n  "
                    + String.join("\n  ", failures));
        }
    }

    private static void checkCase(Bundle b, SelfTestCase c, List<String> failures) throws Exception {
        String id = b.bundleId() + "/" + c.id;
        // 1. The reference's 360x360 bytes -> normalise -> tensor digest (exact on every platform).
        if (c.rgb360Path() != null) {
            byte[] rgb = Bundle.read(b.files(), c.rgb360Path(), 388_800L);
            RgbImage img = new RgbImage(360, 360, rgb);
            expect(failures, id + " rgb360 sha256 (digests.resized)", c.resizedSha256, img.sha256Hex());
            expect(failures, id + " tensor digest of rgb360", c.tensorSha256,
                    Normalise.tensorDigest(img));
        }
        // 2. Lossless sources: decode (javax.imageio raw samples) -> orient -> resize -> digests.
        if (c.lossless && c.source.toLowerCase(java.util.Locale.ROOT).endsWith(".png")) {
            byte[] encoded = Bundle.read(b.files(), c.sourcePath(), 1L << 28);
            DecodedImage d = new PngTestDecoder(c.orientation).decode(encoded, c.sourcePath());
            HashPipeline.Prepared p = new HashPipeline(b.seed(), b.spec(), new BundleTest.FakeEngine())
                    .prepare(d, true);
            expect(failures, id + " decoded digest", c.decodedSha256, p.digests.decoded);
            expect(failures, id + " resized digest", c.resizedSha256, p.digests.resized);
            expect(failures, id + " tensor digest", c.tensorSha256, p.digests.tensor);
        }
        // 3. Steps 6-7 from the reference embedding: projections, hash and fragile bit for bit.
        double[] proj = Projection.project(b.seed(), c.expectedEmbedding);
        String[] got = FloatHex.f64ToHex(proj);
        String[] want = FloatHex.f64ToHex(c.expectedProjections);
        if (!Arrays.equals(want, got)) {
            for (int i = 0; i < 96; i++) {
                if (!want[i].equals(got[i])) {
                    failures.add(id + " projections[" + i + "]: expected " + want[i] + ", got " + got[i]);
                    break;
                }
            }
        }
        expect(failures, id + " hash", c.expectedHash.toHex(), Projection.sign(proj).toHex());
        if (c.expectedFragile != null) {
            expect(failures, id + " fragile", c.expectedFragile.toHex(),
                    Projection.fragileMask(proj, b.spec().fragileMargin()).toHex());
        }
    }

    /** The whole self-test runner with a replay engine (the reference embeddings by tensor digest). */
    private static void checkSelfTestRun(Bundle b, File dir, List<String> failures) throws IOException, NhkitException {
        final Map<String, float[]> byTensor = new HashMap<>();
        List<String> lossy = new ArrayList<>();
        for (SelfTestCase c : b.selfTestCases()) {
            byTensor.put(c.tensorSha256, c.expectedEmbedding);
            if (!c.lossless || !c.source.toLowerCase(java.util.Locale.ROOT).endsWith(".png")) {
                lossy.add(c.id + ":");
            }
        }
        EmbeddingEngine replay = new EmbeddingEngine() {
            @Override
            public float[] embed(float[] nchw) throws NhkitException.ModelException {
                float[] e = byTensor.get(Normalise.sha256Hex(nchw));
                if (e == null) {
                    throw new NhkitException.ModelException(null, "replay engine: no reference "
                            + "embedding for this tensor");
                }
                return e.clone();
            }

            @Override
            public Info info() {
                Map<String, Object> details = new LinkedHashMap<>();
                details.put("input_dtype", "float32");
                details.put("layout", "NCHW");
                return new Info("replay", "1", "cpu", 1, details);
            }

            @Override
            public void close() {}
        };
        Map<String, Object> platform = new LinkedHashMap<>();
        platform.put("os", System.getProperty("os.name"));
        platform.put("os_version", System.getProperty("os.version"));
        platform.put("device_model", "jvm-" + System.getProperty("java.version"));
        platform.put("sdk_int", 0L);
        platform.put("abi", System.getProperty("os.arch"));
        // The orientation comes from the files' bytes (OrientationSource), as on a device.
        SelfTestReport report = SelfTest.run(b, new PngTestDecoder(), replay, "nhkit-android", "0.1.0",
                platform);
        if (b.decodeCases().isEmpty() || report.decodeCases().size() != b.decodeCases().size()) {
            failures.add(b.bundleId() + ": the mode sampler did not run (" + b.decodeCases().size()
                    + " decode cases, " + report.decodeCases().size() + " results)");
        } else {
            System.out.println("  " + b.bundleId() + ": mode sampler, " + b.decodeCases().size()
                    + " decode cases run (judged below and by nhkit golden check)");
            // A decoder that ignores EXIF orientation fails the sampler, naming the mode.
            SelfTestReport.DecodeResult upright = SelfTest.runDecodeCase(b, new PngTestDecoder(1),
                    b.decodeCases().get(b.decodeCases().size() - 1));
            SelfTestReport wrong = new SelfTestReport("nhkit-android", "0.1.0", platform,
                    replay.info(), b, new java.util.Date(), report.cases(),
                    java.util.Collections.singletonList(upright));
            String problems = String.join("\n", SelfTestReport.problems(b, wrong));
            if (!problems.contains("(mode RGB, EXIF orientation 8): decoded 11x7 orientation 1")
                    || !problems.contains("(mode I;16): missing from the report")) {
                failures.add(b.bundleId() + ": a wrong decode case is not named by its mode:\n" + problems);
            }
        }
        report.putExtra("note", "JVM run of android_bridge core with javax.imageio decoding and the "
                + "reference embeddings replayed (FixtureBundleTest); not a device report");
        File out = new File(TestSupport.repoRoot(), "android_bridge/build/fixture-reports/"
                + b.bundleId() + ".json");
        out.getParentFile().mkdirs();
        try (OutputStream os = new FileOutputStream(out)) {
            os.write(report.toJsonBytes());
        }
        // Which bundle the report belongs to, for test.sh's `nhkit golden check` cross-check.
        try (OutputStream os = new FileOutputStream(new File(out.getPath() + ".bundle"))) {
            os.write((dir.getPath() + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        // Lossy cases carry the measured decode deviation (javax.imageio's JPEG decoder against
        // Pillow's reference bytes here); lossless ones do not.
        for (SelfTestReport.CaseResult r : report.cases()) {
            SelfTestCase c = null;
            for (SelfTestCase sc : b.selfTestCases()) {
                c = sc.id.equals(r.id) ? sc : c;
            }
            if (r.error != null || c == null) {
                continue;
            }
            if (c.lossless != (r.decodeDeviation == null)) {
                failures.add(r.id + ": decode_deviation " + (c.lossless ? "on a lossless case" : "missing"));
            } else if (r.decodeDeviation != null) {
                DecodeDeviation d = r.decodeDeviation;
                System.out.println("  " + b.bundleId() + " " + r.id + ": decode deviation "
                        + String.format(java.util.Locale.ROOT, "%.2f%%", 100 * d.samplesDiffering)
                        + " of samples, max |delta| " + d.maxAbsDelta + ", " + d.bitsFlipped
                        + " bit(s) flipped");
                if (d.bitsFlipped != r.hash.hamming(c.expectedHash) || d.samplesDiffering < 0
                        || d.samplesDiffering > 1 || (d.maxAbsDelta == 0) != (d.samplesDiffering == 0)) {
                    failures.add(r.id + ": inconsistent decode_deviation");
                }
            }
        }
        for (String p : SelfTestReport.problems(b, report)) {
            boolean isLossy = false;
            for (String l : lossy) {
                isLossy |= p.startsWith(l);
            }
            if (!isLossy) {
                failures.add(b.bundleId() + " self-test: " + p);
            }
        }
    }

    private static void expect(List<String> failures, String what, String want, String got) {
        if (!want.equals(got)) {
            failures.add(what + ": expected " + want + ", got " + got);
        }
    }
}

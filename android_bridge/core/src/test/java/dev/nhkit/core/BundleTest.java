package dev.nhkit.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import javax.imageio.ImageIO;

import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/** Bundle manifest parsing, checksum verification and the self-test runner on a temp bundle. */
public class BundleTest {
    /** The bundle folder (package-private: HashListTest and ReaderFuzzTargets build bundles here). */
    File dir;

    @Before
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("nhkit-bundle-test").toFile();
    }

    @After
    public void tearDown() {
        deleteTree(dir);
    }

    static void deleteTree(File f) {
        File[] kids = f.listFiles();
        if (kids != null) {
            for (File k : kids) {
                deleteTree(k);
            }
        }
        f.delete();
    }

    /** A deterministic fake model: embedding[j] = mean of a strided slice of the tensor, shifted. */
    static final class FakeEngine implements EmbeddingEngine {
        int calls;

        @Override
        public float[] embed(float[] nchw) {
            calls++;
            float[] e = new float[128];
            for (int j = 0; j < 128; j++) {
                double s = 0;
                int n = 0;
                for (int i = j; i < nchw.length; i += 977) {
                    s += nchw[i];
                    n++;
                }
                e[j] = (float) (s / n) + (j % 2 == 0 ? 0.01f : -0.01f);
            }
            return e;
        }

        @Override
        public Info info() {
            return new Info("fake", "1.0", "cpu", 1);
        }

        @Override
        public void close() {}
    }

    static byte[] png(RgbImage img) throws IOException {
        BufferedImage bi = new BufferedImage(img.width(), img.height(), BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < img.height(); y++) {
            for (int x = 0; x < img.width(); x++) {
                bi.setRGB(x, y, (img.sample(y, x, 0) << 16) | (img.sample(y, x, 1) << 8)
                        | img.sample(y, x, 2));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(bi, "png", out);
        return out.toByteArray();
    }

    static Seed testSeed() throws NhkitException {
        byte[] data = TestSupport.prngBytes(0x5EEDL, Seed.F32_BYTES);
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(data).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        Random rnd = new Random(1);
        for (int i = 0; i < Seed.ROWS * Seed.COLS; i++) {
            bb.putFloat(i * 4, (float) rnd.nextGaussian());
        }
        return Seed.parse(data, "seed");
    }

    /** Writes a complete, valid bundle with {@code nCases} lossless self-test cases. */
    Map<String, Object> writeBundle(int nCases, int orientation) throws Exception {
        Seed seed = testSeed();
        Map<String, byte[]> files = new TreeMap<>();
        files.put("model.tflite", "not really a model".getBytes(StandardCharsets.US_ASCII));
        files.put("seed.f32", seed.toF32Bytes());
        HashPipeline pipeline = new HashPipeline(seed, new Spec(Spec.OrientationPolicy.APPLY, 0.05),
                new FakeEngine());
        List<Object> cases = new ArrayList<>();
        Random rnd = new Random(2);
        for (int i = 0; i < nCases; i++) {
            RgbImage img = TestSupport.randomImage(rnd, 200 + 37 * i, 150 + 11 * i);
            String id = "c" + i;
            files.put("selftest/" + id + ".png", png(img));
            HashPipeline.Prepared p = pipeline.prepare(new DecodedImage(img, orientation), true);
            files.put("selftest/" + id + ".rgb360", p.resized.pixels());
            HashResult r = pipeline.hash(p);
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("id", id);
            c.put("source", id + ".png");
            c.put("lossless", true);
            c.put("description", "synthetic");
            c.put("orientation", (long) orientation);
            c.put("rgb360", id + ".rgb360");
            c.put("digests", r.digests.toJson());
            Map<String, Object> exp = new LinkedHashMap<>();
            exp.put("hash", r.hash.toHex());
            exp.put("embedding", Arrays.asList((Object[]) FloatHex.f32ToHex(r.embedding)));
            exp.put("projections", Arrays.asList((Object[]) FloatHex.f64ToHex(r.projections)));
            exp.put("fragile", r.fragile.toHex());
            c.put("expected", exp);
            cases.add(c);
        }
        Map<String, Object> casesDoc = new LinkedHashMap<>();
        casesDoc.put("format", "nhkit-selftest");
        casesDoc.put("format_version", 1L);
        casesDoc.put("bundle_id", "test-bundle");
        casesDoc.put("cases", cases);
        files.put("selftest/cases.json", Json.writePretty(casesDoc).getBytes(StandardCharsets.UTF_8));

        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format", "nhkit-bundle");
        m.put("format_version", 1L);
        m.put("bundle_id", "test-bundle");
        m.put("spec", new Spec(Spec.OrientationPolicy.APPLY, 0.05).toJson());
        m.put("target", "tflite");
        m.put("runtime", Json.parse("{\"name\": \"litert\", \"min_version\": \"1.0\"}"));
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("file", "model.tflite");
        model.put("inputs", Json.parse("[{\"name\": \"image\", \"shape\": [1, 360, 360, 3], "
                + "\"dtype\": \"float32\", \"layout\": \"NHWC\", \"quantization\": null}]"));
        model.put("outputs", Json.parse("[{\"name\": \"embedding\", \"shape\": [1, 128], "
                + "\"dtype\": \"float32\", \"quantization\": null}]"));
        m.put("model", model);
        Map<String, Object> seedObj = new LinkedHashMap<>();
        seedObj.put("file", "seed.f32");
        seedObj.put("rows", 96L);
        seedObj.put("cols", 128L);
        seedObj.put("dtype", "float32");
        seedObj.put("byte_order", "little");
        seedObj.put("sha256", Digests.sha256Hex(files.get("seed.f32")));
        m.put("seed", seedObj);
        List<Object> list = new ArrayList<>();
        for (Map.Entry<String, byte[]> e : files.entrySet()) {
            File f = new File(dir, e.getKey());
            f.getParentFile().mkdirs();
            Files.write(f.toPath(), e.getValue());
            Map<String, Object> fe = new LinkedHashMap<>();
            fe.put("path", e.getKey());
            fe.put("sha256", Digests.sha256Hex(e.getValue()));
            fe.put("size", (long) e.getValue().length);
            list.add(fe);
        }
        m.put("files", list);
        m.put("tolerance", Json.parse("{\"hamming\": 2, \"lossy_hamming\": 6, \"nonfragile_flips\": 0}"));
        // The rest of the format (every field is required, docs/bundle-format.md).
        m.put("source_model", Json.parse("{\"name\": \"test\", \"sha256\": \"" + "ab".repeat(32)
                + "\", \"fingerprint\": \"" + "cd".repeat(32) + "\"}"));
        m.put("variant", Json.parse("{\"name\": \"fp32\", \"precision\": \"fp32\", \"compression\": \"none\"}"));
        m.put("selftest", Json.parse("{\"file\": \"selftest/cases.json\", \"cases\": " + nCases + "}"));
        m.put("drift", Json.parse("{\"reference\": \"onnxruntime-fp32\", \"images\": 1, \"photos\": 1, "
                + "\"hamming\": {\"mean\": 0.0, \"p95\": 0, \"max\": 0}, \"bit_exact_rate\": 1.0, "
                + "\"embedding\": {\"max_abs_error\": 0.0, \"cosine_min\": 1.0, \"cosine_mean\": 1.0}, "
                + "\"nonfragile_flips\": 0, \"fragile_flips\": 0, \"budget\": {\"mean\": 0.0, \"max\": 0}, "
                + "\"passed\": true, \"overridden\": false, "
                + "\"selftest\": {\"cases\": 1, \"hamming_max\": 0, \"nonfragile_max\": 0}}"));
        m.put("tools", Json.parse("{\"nhkit\": \"test\"}"));
        writeManifest(m);
        return m;
    }

    void writeManifest(Map<String, Object> m) throws IOException {
        Files.write(new File(dir, "manifest.json").toPath(),
                Json.writePretty(m).getBytes(StandardCharsets.UTF_8));
    }

    @Test
    public void opensAndVerifiesAValidBundle() throws Exception {
        writeBundle(2, 1);
        Bundle b = Bundle.open(new DirectoryBundleFiles(dir));
        assertEquals("test-bundle", b.bundleId());
        assertEquals(2, b.selfTestCases().size());
        assertEquals(Layout.NHWC, b.manifest().input().layout);
        assertEquals(ModelIO.DType.FLOAT32, b.manifest().output().dtype);
        assertEquals(0.05, b.spec().fragileMargin(), 0.0);
        assertEquals(2, b.manifest().toleranceHamming);
        assertEquals(6, b.manifest().toleranceLossyHamming);
        assertEquals(Digests.sha256Hex(Files.readAllBytes(new File(dir, "manifest.json").toPath())),
                b.manifestSha256());
    }

    private void expectBundleError(String fragment) {
        try {
            Bundle.open(new DirectoryBundleFiles(dir));
            fail("opened a broken bundle (expected an error mentioning \"" + fragment + "\")");
        } catch (NhkitException e) {
            assertTrue("message: " + e.getMessage(), e.getMessage().contains(fragment));
        }
    }

    @Test
    public void detectsAChangedByte() throws Exception {
        writeBundle(1, 1);
        File model = new File(dir, "model.tflite");
        byte[] data = Files.readAllBytes(model.toPath());
        data[3] ^= 1;
        Files.write(model.toPath(), data);
        expectBundleError(model.getPath() + ": sha256 is ");
    }

    @Test
    public void detectsAWrongSizeAndAMissingFile() throws Exception {
        writeBundle(1, 1);
        File rgb = new File(dir, "selftest/c0.rgb360");
        Files.write(rgb.toPath(), new byte[10]);
        expectBundleError(rgb.getPath() + ": size is 10 bytes, the manifest says 388800");
        rgb.delete();
        expectBundleError(rgb.getPath() + ": cannot read");
    }

    @Test
    public void rejectsPathsOutsideTheBundleAndUnlistedFiles() throws Exception {
        Map<String, Object> m = writeBundle(1, 1);
        @SuppressWarnings("unchecked")
        Map<String, Object> first = (Map<String, Object>) ((List<Object>) m.get("files")).get(0);
        Object saved = first.get("path");
        first.put("path", "../outside");
        writeManifest(m);
        expectBundleError("not a relative bundle path");
        first.put("path", saved);
        @SuppressWarnings("unchecked")
        Map<String, Object> model = (Map<String, Object>) m.get("model");
        model.put("file", "other.tflite");
        writeManifest(m);
        expectBundleError("model file \"other.tflite\" is not in \"files\"");
    }

    @Test
    public void rejectsASeedThatDoesNotMatchTheManifest() throws Exception {
        Map<String, Object> m = writeBundle(1, 1);
        @SuppressWarnings("unchecked")
        Map<String, Object> seed = (Map<String, Object>) m.get("seed");
        seed.put("sha256", "0".repeat(64));
        writeManifest(m);
        expectBundleError("does not match the manifest's seed.sha256");
    }

    @Test
    public void rejectsAForeignSpecAndBadJson() throws Exception {
        Map<String, Object> m = writeBundle(1, 1);
        @SuppressWarnings("unchecked")
        Map<String, Object> spec = (Map<String, Object>) m.get("spec");
        spec.put("size", 224L);
        writeManifest(m);
        expectBundleError("spec field 'size' is 224");
        Files.write(new File(dir, "manifest.json").toPath(), "{\"format\": ".getBytes(StandardCharsets.UTF_8));
        expectBundleError("not valid JSON");
    }

    @Test
    public void selfTestRunnerWritesAReportThatPasses() throws Exception {
        writeBundle(2, 6);
        Bundle b = Bundle.open(new DirectoryBundleFiles(dir));
        Map<String, Object> platform = new LinkedHashMap<>();
        platform.put("os", "Linux");
        platform.put("os_version", "test");
        platform.put("device_model", "jvm");
        FakeEngine engine = new FakeEngine();
        SelfTestReport report = SelfTest.run(b, new PngTestDecoder(6), engine, "nhkit-android",
                "0.1.0", platform);
        assertEquals(2, engine.calls);
        assertEquals(new ArrayList<String>(), SelfTestReport.problems(b, report));

        Map<String, Object> doc = Json.asObject(Json.parse(report.toJsonBytes()), "report");
        assertEquals("nhkit-device-report", doc.get("format"));
        assertEquals(Arrays.asList("format", "format_version", "bridge", "platform", "runtime",
                "bundle", "spec", "created", "cases"), new ArrayList<>(doc.keySet()));
        Map<String, Object> bundle = Json.getObject(doc, "bundle", "bundle");
        assertEquals(b.manifestSha256(), bundle.get("manifest_sha256"));
        assertEquals(Boolean.TRUE, bundle.get("checksums_verified"));
        assertTrue(((String) doc.get("created")).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ"));
        List<Object> cases = Json.getList(doc, "cases", "cases");
        Map<String, Object> c0 = Json.asObject(cases.get(0), "case");
        assertEquals(b.selfTestCases().get(0).expectedHash.toHex(), c0.get("hash"));
        assertEquals(6L, c0.get("orientation"));
        assertEquals(128, Json.getList(c0, "embedding", "e").size());
        assertEquals(96, Json.getList(c0, "projections", "p").size());
        assertTrue(c0.containsKey("error"));
        assertNull(c0.get("error"));
        assertEquals(Arrays.asList("decode", "resize", "normalise", "model", "project"),
                new ArrayList<>(Json.getObject(c0, "timings_ms", "t").keySet()));
        assertEquals(b.selfTestCases().get(0).decodedSha256,
                Json.getObject(c0, "digests", "d").get("decoded"));
    }

    @Test
    public void selfTestReportsFailuresPerCase() throws Exception {
        writeBundle(2, 1);
        Bundle b = Bundle.open(new DirectoryBundleFiles(dir));
        // Orientation 3 instead of the 1 the cases were made with: digests and hashes differ.
        SelfTestReport wrongOrientation = SelfTest.run(b, new PngTestDecoder(3), new FakeEngine(),
                "nhkit-android", "0.1.0", new LinkedHashMap<String, Object>());
        List<String> problems = SelfTestReport.problems(b, wrongOrientation);
        assertTrue(problems.toString(), problems.size() >= 2);
        assertTrue(problems.toString(), problems.get(0).startsWith("c0: decoded digest"));

        // A decoder that throws: every case carries its error, nothing escapes.
        ImageDecoder broken = (bytes, name) -> {
            throw new NhkitException.ImageDecodeException(name, "unsupported mode CMYK");
        };
        SelfTestReport failed = SelfTest.run(b, broken, new FakeEngine(), "nhkit-android", "0.1.0",
                new LinkedHashMap<String, Object>());
        for (SelfTestReport.CaseResult r : failed.cases()) {
            assertTrue(r.error, r.error.endsWith("c" + r.id.substring(1) + ".png: unsupported mode CMYK"));
        }
        Map<String, Object> c0 = Json.asObject(Json.getList(Json.asObject(Json.parse(
                failed.toJsonBytes()), "r"), "cases", "c").get(0), "c0");
        assertEquals(Arrays.asList("id", "error"), new ArrayList<>(c0.keySet()));
    }

    @Test
    public void aBundleWithoutCasesCannotProduceAReport() throws Exception {
        writeBundle(0, 1);
        Bundle b = Bundle.open(new DirectoryBundleFiles(dir));
        assertTrue(b.selfTestCases().isEmpty());
        try {
            SelfTest.run(b, new PngTestDecoder(1), new FakeEngine(), "nhkit-android", "0.1.0",
                    new LinkedHashMap<String, Object>());
            fail("a device report needs at least one case");
        } catch (NhkitException.BundleException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("has no self-test cases"));
        }
    }

    @Test
    public void rejectsUnlistedFilesAndUnsortedLists() throws Exception {
        Map<String, Object> m = writeBundle(1, 1);
        File extra = new File(dir, "selftest/extra.png");
        Files.write(extra.toPath(), new byte[] {1});
        expectBundleError(extra.getPath() + ": file is in the bundle but not listed");
        extra.delete();
        @SuppressWarnings("unchecked")
        List<Object> files = (List<Object>) m.get("files");
        Object first = files.remove(0);
        files.add(first);
        writeManifest(m);
        expectBundleError("\"files\" must be sorted by path");
    }

    @Test
    public void checksTheCasesRgb360AgainstItsDigests() throws Exception {
        Map<String, Object> m = writeBundle(1, 1);
        File rgb = new File(dir, "selftest/c0.rgb360");
        byte[] data = Files.readAllBytes(rgb.toPath());
        data[100] ^= 0x40;
        Files.write(rgb.toPath(), data);
        @SuppressWarnings("unchecked")
        List<Object> files = (List<Object>) m.get("files");
        for (Object o : files) {
            @SuppressWarnings("unchecked")
            Map<String, Object> f = (Map<String, Object>) o;
            if (f.get("path").equals("selftest/c0.rgb360")) {
                f.put("sha256", Digests.sha256Hex(data)); // listed checksum fine, digest not
            }
        }
        writeManifest(m);
        expectBundleError(rgb.getPath() + ": sha256 does not match case \"c0\" digests.resized");
    }

    @Test
    public void int8InputsNeedTheLookupTable() throws Exception {
        Map<String, Object> m = writeBundle(1, 1);
        @SuppressWarnings("unchecked")
        Map<String, Object> model = (Map<String, Object>) m.get("model");
        model.put("inputs", Json.parse("[{\"name\": \"image\", \"shape\": [1, 360, 360, 3], "
                + "\"dtype\": \"int8\", \"layout\": \"NHWC\", \"quantization\": {\"scale\": "
                + "0.007843137718737125, \"zero_point\": -1}}]"));
        writeManifest(m);
        expectBundleError("model.inputs[0].quantization.lut: missing");
    }

    @Test
    public void caseCountMustMatchTheManifest() throws Exception {
        Map<String, Object> m = writeBundle(2, 1);
        m.put("selftest", Json.parse("{\"file\": \"selftest/cases.json\", \"cases\": 3}"));
        writeManifest(m);
        expectBundleError("has 2 cases, the manifest's selftest.cases says 3");
    }

    @Test
    public void flipsOutsideTheFragileMaskCountAgainstTheTolerance() throws Exception {
        writeBundle(1, 1);
        Bundle b = Bundle.open(new DirectoryBundleFiles(dir));
        SelfTestReport ok = SelfTest.run(b, new PngTestDecoder(1), new FakeEngine(), "nhkit-android",
                "0.1.0", new LinkedHashMap<String, Object>());
        assertTrue(SelfTestReport.problems(b, ok).isEmpty());
        SelfTestReport.CaseResult r = ok.cases().get(0);
        SelfTestCase c = b.selfTestCases().get(0);
        int i = 0;
        while (c.expectedFragile.bit(i)) {
            i++;
        }
        boolean[] bits = r.hash.toBits();
        bits[i] = !bits[i]; // 1 bit: within tolerance.hamming 2, but not a fragile bit
        SelfTestReport.CaseResult flipped = new SelfTestReport.CaseResult(r.id, r.digests, r.embedding,
                r.projections, NeuralHash.fromBits(bits), r.timingsMs, 1, null);
        SelfTestReport bad = new SelfTestReport("nhkit-android", "0.1.0",
                new LinkedHashMap<String, Object>(), new FakeEngine().info(), b, new java.util.Date(),
                Arrays.asList(flipped));
        List<String> problems = SelfTestReport.problems(b, bad);
        assertEquals(1, problems.size());
        assertTrue(problems.get(0), problems.get(0).contains("1 flipped bits outside the reference "
                + "fragile mask (tolerance.nonfragile_flips 0)"));
    }
}

package dev.nhkit.jvm;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import dev.nhkit.core.Bundle;
import dev.nhkit.core.DecodedImage;
import dev.nhkit.core.DirectoryBundleFiles;
import dev.nhkit.core.Json;
import dev.nhkit.core.NeuralHash;
import dev.nhkit.core.NhkitException;
import dev.nhkit.core.Normalise;
import dev.nhkit.core.Projection;
import dev.nhkit.core.RgbImage;
import dev.nhkit.core.SelfTestCase;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.Test;

/**
 * The FFM LiteRT engine on real exported bundles: the model's answers on the bundles' own
 * self-test inputs, the load-time interface checks, thread-safety and lifecycle. The full
 * self-test through the pipeline and `nhkit golden check` is android_bridge/test.sh's job.
 */
public class LiteRtFfmEngineTest {
    private static Bundle open(File dir) throws NhkitException {
        return Bundle.open(new DirectoryBundleFiles(dir));
    }

    private static float[] tensorOf(Bundle b, SelfTestCase c) throws NhkitException {
        byte[] rgb = Bundle.read(b.files(), c.rgb360Path(), 388_800L);
        return Normalise.toNchw(new RgbImage(360, 360, rgb));
    }

    @Test
    public void everyVariantHashesItsSelfTestInputsWithinTheBundleTolerance() throws Exception {
        LiteRtLibrary lib = JvmTestSupport.library();
        for (File dir : JvmTestSupport.bundles()) {
            Bundle b = open(dir);
            try (LiteRtFfmEngine e = LiteRtFfmEngine.open(b, lib, 1)) {
                for (SelfTestCase c : b.selfTestCases()) {
                    float[] emb = e.embed(tensorOf(b, c));
                    NeuralHash h = Projection.sign(Projection.project(b.seed(), emb));
                    int d = h.hamming(c.expectedHash);
                    assertTrue(b.bundleId() + "/" + c.id + ": " + d + " bits from the fp32 reference, "
                            + "tolerance " + b.manifest().toleranceHamming, d <= b.manifest().toleranceHamming);
                }
            }
        }
    }

    @Test
    public void fp32VariantReproducesTheReferenceEmbeddingClosely() throws Exception {
        Bundle b = open(JvmTestSupport.bundle(".tflite-fp32"));
        try (LiteRtFfmEngine e = LiteRtFfmEngine.open(b, JvmTestSupport.library(), 2)) {
            for (SelfTestCase c : b.selfTestCases()) {
                float[] emb = e.embed(tensorOf(b, c));
                for (int i = 0; i < emb.length; i++) {
                    assertEquals(b.bundleId() + "/" + c.id + " embedding[" + i + "]",
                            c.expectedEmbedding[i], emb[i], 1e-4f);
                }
            }
        }
    }

    @Test
    public void jpegCaseDecodesWithItsExifOrientation() throws Exception {
        Bundle b = open(JvmTestSupport.bundle(".tflite-fp32"));
        for (SelfTestCase c : b.selfTestCases()) {
            if (c.source.endsWith(".jpg")) {
                DecodedImage d = new ImageIoDecoder().decode(Bundle.read(b.files(), c.sourcePath(), 1L << 26),
                        c.sourcePath());
                assertEquals(c.id, c.orientation, d.exifOrientation);
                return;
            }
        }
        fail("the bundle has no JPEG case");
    }

    @Test
    public void concurrentCallersGetTheSequentialAnswers() throws Exception {
        Bundle b = open(JvmTestSupport.bundle(".tflite-int8-io"));
        List<float[]> inputs = new ArrayList<>();
        for (SelfTestCase c : b.selfTestCases()) {
            inputs.add(tensorOf(b, c));
        }
        try (LiteRtFfmEngine e = LiteRtFfmEngine.open(b, JvmTestSupport.library(), 1)) {
            List<float[]> want = new ArrayList<>();
            for (float[] t : inputs) {
                want.add(e.embed(t));
            }
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<float[]>> got = new ArrayList<>();
                for (int round = 0; round < 3; round++) {
                    for (float[] t : inputs) {
                        got.add(pool.submit((Callable<float[]>) () -> e.embed(t)));
                    }
                }
                for (int i = 0; i < got.size(); i++) {
                    assertArrayEquals("call " + i, want.get(i % inputs.size()), got.get(i).get(), 0f);
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    public void closedEngineRefusesWorkAndClosesTwiceSafely() throws Exception {
        Bundle b = open(JvmTestSupport.bundle(".tflite-fp16"));
        LiteRtFfmEngine e = LiteRtFfmEngine.open(b, JvmTestSupport.library(), 1);
        assertEquals("litert", e.info().name);
        assertEquals(LiteRtLibrary.PINNED_VERSION, e.info().version);
        e.close();
        e.close();
        try {
            e.embed(new float[3 * 360 * 360]);
            fail("embed after close");
        } catch (IllegalStateException expected) {
            assertTrue(expected.getMessage().contains("closed"));
        }
    }

    private static String refusal(Path bundle) throws Exception {
        Bundle b = open(bundle.toFile());
        try {
            LiteRtFfmEngine.open(b, JvmTestSupport.library(), 1).close();
            fail("the engine accepted a manifest that does not describe " + bundle + "'s model");
            return null;
        } catch (NhkitException.ModelException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("model.tflite"));
            return e.getMessage();
        }
    }

    @Test
    public void manifestThatMisdescribesTheModelIsRefusedAtLoad() throws Exception {
        File int8 = JvmTestSupport.bundle(".tflite-int8-io");
        Path tmp = JvmTestSupport.tempDir();

        Path a = JvmTestSupport.copy(int8, tmp.resolve("zp"));
        String zp = "\"zero_point\": " + open(int8).manifest().output().zeroPoint;
        JvmTestSupport.editManifest(a, zp, "\"zero_point\": 0");
        String m = refusal(a);
        assertTrue(m, m.contains("output quantization") && m.contains("does not match"));

        Path n = JvmTestSupport.copy(int8, tmp.resolve("name"));
        JvmTestSupport.editManifest(n, "\"name\": \"embedding\"", "\"name\": \"features\"");
        m = refusal(n);
        assertTrue(m, m.contains("output is named \"embedding\"") && m.contains("\"features\""));

        File fp32 = JvmTestSupport.bundle(".tflite-fp32");
        Path s = JvmTestSupport.copy(fp32, tmp.resolve("shape"));
        String text = new String(Files.readAllBytes(s.resolve("manifest.json")), java.nio.charset.StandardCharsets.UTF_8);
        String from = text.substring(text.indexOf("\"shape\""), text.indexOf("\"layout\": \"NHWC\"") + "\"layout\": \"NHWC\"".length());
        String to = from.replaceAll("(?s)\\[\\s*1,\\s*360,\\s*360,\\s*3\\s*\\]", "[1, 3, 360, 360]").replace("NHWC", "NCHW");
        JvmTestSupport.editManifest(s, from, to);
        m = refusal(s);
        assertTrue(m, m.contains("input shape [1, 360, 360, 3] does not match the manifest's [1, 3, 360, 360]"));
    }

    /**
     * tests/vectors/readers/index.json {@code model_cases}: a real bundle whose manifest (valid on
     * its own) disagrees with its model is refused when LiteRT opens the model, naming the field.
     * The cases name the tiny test model's bundles; the same variant of the bundles here (the
     * default model's) has the same interface. Core ML cases are not LiteRT's.
     */
    @Test
    public void readerVectorModelCasesAreRefused() throws Exception {
        File indexFile = JvmTestSupport.vectorsFile("readers/index.json");
        Map<String, Object> index = Json.asObject(Json.parse(Files.readAllBytes(indexFile.toPath())), "index");
        Path tmp = JvmTestSupport.tempDir();
        int ran = 0;
        for (Object o : Json.getList(index, "model_cases", "index")) {
            Map<String, Object> c = Json.asObject(o, "model case");
            String name = Json.getString(c, "bundle", "bundle");
            if (!name.contains(".tflite-")) {
                continue;
            }
            File src = JvmTestSupport.bundle(name.substring(name.indexOf(".tflite-")));
            Path b = JvmTestSupport.copy(src, tmp.resolve("case" + ran));
            Object manifest = Json.parse(Files.readAllBytes(b.resolve("manifest.json")));
            for (Object e : Json.getList(c, "set", "set")) {
                Map<String, Object> edit = Json.asObject(e, "edit");
                List<Object> path = Json.getList(edit, "path", "path");
                Object node = manifest;
                for (int i = 0; i < path.size() - 1; i++) {
                    Object key = path.get(i);
                    node = key instanceof String ? Json.asObject(node, "node").get(key)
                            : Json.asList(node, "node").get(((Long) key).intValue());
                }
                Object last = path.get(path.size() - 1);
                if (last instanceof String) {
                    Json.asObject(node, "node").put((String) last, edit.get("value"));
                } else {
                    Json.asList(node, "node").set(((Long) last).intValue(), edit.get("value"));
                }
            }
            Files.write(b.resolve("manifest.json"), Json.writePretty(manifest).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            String field = Json.getString(c, "error", "error");
            String m = refusal(b);   // the bundle opens (valid on its own); the engine refuses it
            assertTrue(name + ": the error does not name " + field + ": " + m, m.contains(field));
            ran++;
        }
        assertTrue("TFLite model cases run: " + ran, ran >= 5);
    }
}

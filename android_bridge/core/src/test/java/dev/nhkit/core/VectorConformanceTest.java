package dev.nhkit.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;

/**
 * Runs the Java core against EVERY file in {@code tests/vectors/} (the shared nh-spec-v1
 * conformance vectors, tests/vectors/README.md). One JUnit test per file; a file without a Java
 * handler fails, so a new vector file cannot be silently skipped. A missing or empty vectors
 * directory fails too.
 */
@RunWith(Parameterized.class)
public class VectorConformanceTest {
    private static final String MISSING = "(no vector files)";

    @Parameterized.Parameters(name = "{0}")
    public static Collection<Object[]> files() {
        List<Object[]> out = new ArrayList<>();
        for (File f : TestSupport.vectorFiles()) {
            out.add(new Object[] {f.getName(), f});
        }
        if (out.isEmpty()) {
            out.add(new Object[] {MISSING, null});
        }
        return out;
    }

    private final String name;
    private final File file;

    public VectorConformanceTest(String name, File file) {
        this.name = name;
        this.file = file;
    }

    /** Collected per-test-case failures of one file. */
    private final List<String> failures = new ArrayList<>();
    private int passed;

    @Test
    public void vectorFile() throws Exception {
        if (file == null) {
            fail("no *.json conformance vectors in " + TestSupport.vectorsDir()
                    + " (set -Dnhkit.vectors.dir=... or run from the nhkit repository; generate them "
                    + "with `python tests/vectors/generate.py`)");
        }
        Map<String, Object> doc = TestSupport.readJsonObject(file);
        assertEquals(name + ": schema", "nhkit-vectors-v1", Json.getString(doc, "schema", "schema"));
        String algorithm = Json.getString(doc, "algorithm", "algorithm");
        List<Object> groups = Json.getList(doc, "testGroups", "testGroups");
        int count = 0;
        for (Object g : groups) {
            count += Json.getList(Json.asObject(g, "group"), "tests", "tests").size();
        }
        assertEquals(name + ": numberOfTests", Json.getLong(doc, "numberOfTests", "numberOfTests"),
                count);
        assertTrue(name + ": has no test cases", count > 0);

        for (Object go : groups) {
            Map<String, Object> group = Json.asObject(go, "group");
            Map<String, Object> params = group.containsKey("params")
                    ? Json.getObject(group, "params", "params") : new java.util.LinkedHashMap<>();
            Object groupState = prepareGroup(algorithm, params);
            for (Object to : Json.getList(group, "tests", "tests")) {
                Map<String, Object> t = Json.asObject(to, "test");
                long tcId = Json.getLong(t, "tcId", "tcId");
                String result = Json.getString(t, "result", "result");
                String label = name + " tcId " + tcId + " (" + Json.optString(t, "comment", "comment",
                        "") + ")";
                try {
                    if (!"valid".equals(result) && !"invalid".equals(result)) {
                        throw new AssertionError("unknown result \"" + result + "\"");
                    }
                    runCase(algorithm, groupState, Json.getObject(t, "input", "input"),
                            Json.getObject(t, "expected", "expected"), "valid".equals(result));
                    passed++;
                } catch (AssertionError | RuntimeException e) {
                    failures.add(label + ": " + e);
                }
            }
        }
        System.out.println("  vectors " + name + ": " + passed + "/" + count + " cases pass");
        if (!failures.isEmpty()) {
            StringBuilder sb = new StringBuilder(name + ": " + failures.size() + " of " + count
                    + " vector cases fail:");
            for (String f : failures.subList(0, Math.min(20, failures.size()))) {
                sb.append("\n  ").append(f);
            }
            fail(sb.toString());
        }
    }

    // ----------------------------------------------------------------------------- dispatching

    private Object prepareGroup(String algorithm, Map<String, Object> params) throws Exception {
        if (algorithm.equals("nh-spec-v1/projection")) {
            Seed seed = Seed.parse(Hex.decode(Json.getString(params, "seed_f32", "params.seed_f32")),
                    "params.seed_f32");
            double margin = Json.getDouble(params, "fragile_margin", "params.fragile_margin");
            return new Object[] {seed, margin};
        }
        if (algorithm.equals(HashListVectorCases.SEARCH)) {
            return HashListVectorCases.prepareSearch(params);
        }
        if (algorithm.equals("nh-spec-v1/resize")) {
            assertEquals("params.size", Spec.SIZE, Json.getInt(params, "size", "params.size"));
        }
        if (algorithm.equals("nh-spec-v1/resize-coefficients")) {
            assertEquals("params.precision_bits", BicubicResize.PRECISION_BITS,
                    Json.getInt(params, "precision_bits", "params.precision_bits"));
        }
        return null;
    }

    private void runCase(String algorithm, Object state, Map<String, Object> in,
            Map<String, Object> exp, boolean valid) throws Exception {
        switch (algorithm) {
            case "nh-spec-v1/resize-coefficients": coefficients(in, exp); break;
            case "nh-spec-v1/resize": resize(in, exp); break;
            case "nh-spec-v1/orientation": orientation(in, exp); break;
            case "nh-spec-v1/normalise": normalise(in, exp); break;
            case "nh-spec-v1/tensor": tensor(in, exp); break;
            case "nh-spec-v1/projection": projection((Object[]) state, in, exp, valid); break;
            case "nh-spec-v1/hex": hex(in, exp, valid); break;
            case "nh-spec-v1/hamming": hamming(in, exp); break;
            case "nh-spec-v1/seed": seed(in, exp, valid); break;
            case HashListVectorCases.READ: HashListVectorCases.read(in, exp, valid); break;
            case HashListVectorCases.SEARCH:
                HashListVectorCases.search((HashMatcher) state, in, exp, valid);
                break;
            default:
                throw new AssertionError("no Java handler for vector algorithm \"" + algorithm
                        + "\" (add one to VectorConformanceTest)");
        }
    }

    private static void requireValid(boolean valid) {
        if (!valid) {
            throw new AssertionError("this file has no invalid cases in its format");
        }
    }

    // -------------------------------------------------------------------------------- handlers

    private void coefficients(Map<String, Object> in, Map<String, Object> exp) {
        int nIn = Json.getInt(in, "n_in", "n_in");
        int nOut = Json.getInt(in, "n_out", "n_out");
        BicubicResize.Coefficients c = BicubicResize.coefficients(nIn, nOut);
        List<Object> bounds = Json.getList(exp, "bounds", "bounds");
        List<Object> rows = Json.getList(exp, "coefficients", "coefficients");
        assertEquals("bounds length", nOut, bounds.size());
        assertEquals("coefficients length", nOut, rows.size());
        for (int o = 0; o < nOut; o++) {
            List<Object> b = Json.asList(bounds.get(o), "bounds");
            assertEquals("xmin of output " + o, Json.asLong(b.get(0), "xmin"), c.xmin(o));
            assertEquals("count of output " + o, Json.asLong(b.get(1), "count"), c.count(o));
            List<Object> row = Json.asList(rows.get(o), "row");
            int[] want = new int[row.size()];
            for (int i = 0; i < want.length; i++) {
                want[i] = Json.asInt(row.get(i), "k");
            }
            if (!Arrays.equals(want, c.weights(o))) {
                throw new AssertionError("coefficients of output " + o + ": expected "
                        + Arrays.toString(want) + ", got " + Arrays.toString(c.weights(o)));
            }
        }
    }

    private void resize(Map<String, Object> in, Map<String, Object> exp) {
        RgbImage img = TestSupport.prngImage(in.get("prng"), Json.getInt(in, "width", "width"),
                Json.getInt(in, "height", "height"), "prng");
        RgbImage out = BicubicResize.resize(img, Json.getInt(exp, "width", "width"),
                Json.getInt(exp, "height", "height"));
        checkSamples(out, Json.getList(exp, "samples", "samples"));
        assertEquals("sha256 of the 360x360 output", Json.getString(exp, "sha256", "sha256"),
                out.sha256Hex());
    }

    private static void checkSamples(RgbImage out, List<Object> samples) {
        for (Object so : samples) {
            List<Object> s = Json.asList(so, "sample");
            int y = Json.asInt(s.get(0), "y");
            int x = Json.asInt(s.get(1), "x");
            int[] want = {Json.asInt(s.get(2), "r"), Json.asInt(s.get(3), "g"), Json.asInt(s.get(4), "b")};
            int[] got = {out.sample(y, x, 0), out.sample(y, x, 1), out.sample(y, x, 2)};
            if (!Arrays.equals(want, got)) {
                throw new AssertionError("pixel [" + y + "][" + x + "]: expected "
                        + Arrays.toString(want) + ", got " + Arrays.toString(got));
            }
        }
    }

    private void orientation(Map<String, Object> in, Map<String, Object> exp) {
        int w = Json.getInt(in, "width", "width");
        int h = Json.getInt(in, "height", "height");
        RgbImage img;
        if (in.containsKey("pixels")) {
            img = new RgbImage(w, h, bytes(Json.getList(in, "pixels", "pixels")));
        } else {
            img = TestSupport.prngImage(in.get("prng"), w, h, "prng");
        }
        RgbImage out = Orientation.apply(img, Json.getInt(in, "orientation", "orientation"));
        assertEquals("width", Json.getInt(exp, "width", "width"), out.width());
        assertEquals("height", Json.getInt(exp, "height", "height"), out.height());
        if (exp.containsKey("pixels")) {
            assertEquals("pixels", Arrays.toString(bytes(Json.getList(exp, "pixels", "pixels"))),
                    Arrays.toString(out.pixels()));
        }
        assertEquals("sha256", Json.getString(exp, "sha256", "sha256"), out.sha256Hex());
    }

    private static byte[] bytes(List<Object> list) {
        byte[] b = new byte[list.size()];
        for (int i = 0; i < b.length; i++) {
            int v = Json.asInt(list.get(i), "byte");
            if (v < 0 || v > 255) {
                throw new IllegalArgumentException("byte value " + v);
            }
            b[i] = (byte) v;
        }
        return b;
    }

    private void normalise(Map<String, Object> in, Map<String, Object> exp) {
        int v = Json.getInt(in, "value", "value");
        assertEquals("float32 of " + v, Json.getString(exp, "float32", "float32"),
                FloatHex.f32ToHex(Normalise.value(v)));
    }

    private void tensor(Map<String, Object> in, Map<String, Object> exp) {
        RgbImage img = TestSupport.prngImage(in.get("prng"), Json.getInt(in, "width", "width"),
                Json.getInt(in, "height", "height"), "prng");
        float[] nchw = Normalise.toNchw(img);
        assertEquals("sha256_nchw", Json.getString(exp, "sha256_nchw", "sha256_nchw"),
                Normalise.tensorDigest(img));
        // The NHWC bytes exactly as the LiteRT engine packs them (little-endian here).
        ModelIO nhwc = ModelIO.floatInput(Layout.NHWC);
        ByteBuffer buf = ByteBuffer.allocate(nhwc.byteCount()).order(ByteOrder.LITTLE_ENDIAN);
        TensorPacker.pack(nchw, nhwc, buf);
        assertEquals("sha256_nhwc", Json.getString(exp, "sha256_nhwc", "sha256_nhwc"),
                Digests.sha256Hex(buf.array()));
        ModelIO nchwIo = ModelIO.floatInput(Layout.NCHW);
        ByteBuffer buf2 = ByteBuffer.allocate(nchwIo.byteCount()).order(ByteOrder.LITTLE_ENDIAN);
        TensorPacker.pack(nchw, nchwIo, buf2);
        assertEquals("sha256_nchw (packed)", Json.getString(exp, "sha256_nchw", "sha256_nchw"),
                Digests.sha256Hex(buf2.array()));
        if (exp.containsKey("samples_nchw")) {
            for (Object so : Json.getList(exp, "samples_nchw", "samples_nchw")) {
                List<Object> s = Json.asList(so, "sample");
                int c = Json.asInt(s.get(0), "c");
                int y = Json.asInt(s.get(1), "y");
                int x = Json.asInt(s.get(2), "x");
                assertEquals("tensor[" + c + "][" + y + "][" + x + "]", Json.asString(s.get(3), "f32"),
                        FloatHex.f32ToHex(nchw[(c * Spec.SIZE + y) * Spec.SIZE + x]));
            }
        }
    }

    private void projection(Object[] state, Map<String, Object> in, Map<String, Object> exp,
            boolean valid) {
        Seed seed = (Seed) state[0];
        double margin = (Double) state[1];
        List<String> embHex = Json.getStringList(in, "embedding", "embedding");
        float[] e = new float[embHex.size()];
        for (int i = 0; i < e.length; i++) {
            e[i] = FloatHex.hexToF32(embHex.get(i), "embedding[" + i + "]");
        }
        double[] p;
        try {
            p = Projection.project(seed, e);
        } catch (NhkitException.ModelException ex) {
            if (valid) {
                throw new AssertionError("rejected a valid embedding: " + ex.getMessage());
            }
            return;
        }
        if (!valid) {
            throw new AssertionError("accepted an invalid embedding (expected an error)");
        }
        List<String> want = Json.getStringList(exp, "projections", "projections");
        assertEquals("projection count", want.size(), p.length);
        for (int i = 0; i < p.length; i++) {
            assertEquals("projections[" + i + "]", want.get(i), FloatHex.f64ToHex(p[i]));
        }
        assertEquals("hash", Json.getString(exp, "hash", "hash"), Projection.sign(p).toHex());
        assertEquals("fragile", Json.getString(exp, "fragile", "fragile"),
                Projection.fragileMask(p, margin).toHex());
    }

    private void hex(Map<String, Object> in, Map<String, Object> exp, boolean valid) {
        String text = Json.getString(in, "hex", "hex");
        NeuralHash h;
        try {
            h = NeuralHash.fromHex(text);
        } catch (IllegalArgumentException ex) {
            if (valid) {
                throw new AssertionError("rejected valid hex " + FloatHex.quote(text) + ": " + ex);
            }
            return;
        }
        if (!valid) {
            throw new AssertionError("accepted invalid hex " + FloatHex.quote(text));
        }
        assertEquals("bits", Json.getString(exp, "bits", "bits"), h.toBitString());
        assertEquals("hex", Json.getString(exp, "hex", "hex"), h.toHex());
        assertEquals("round trip via bits", h, NeuralHash.fromBits(h.toBits()));
    }

    private void hamming(Map<String, Object> in, Map<String, Object> exp) {
        int d = NeuralHash.hamming(Json.getString(in, "a", "a"), Json.getString(in, "b", "b"));
        assertEquals("distance", Json.getLong(exp, "distance", "distance"), d);
    }

    private void seed(Map<String, Object> in, Map<String, Object> exp, boolean valid) {
        byte[] data = seedFileBytes(in);
        Seed s;
        try {
            s = Seed.parse(data, "vector.seed");
        } catch (NhkitException.SeedFileException ex) {
            if (valid) {
                throw new AssertionError("rejected a valid seed: " + ex.getMessage());
            }
            if (!ex.getMessage().startsWith("vector.seed: ")) {
                throw new AssertionError("seed error does not name the file: " + ex.getMessage());
            }
            return;
        }
        if (!valid) {
            throw new AssertionError("accepted an invalid seed file of " + data.length + " bytes");
        }
        assertEquals("sha256 of the matrix", Json.getString(exp, "sha256", "sha256"), s.sha256Hex());
        for (Object so : Json.getList(exp, "samples", "samples")) {
            List<Object> smp = Json.asList(so, "sample");
            int r = Json.asInt(smp.get(0), "row");
            int c = Json.asInt(smp.get(1), "col");
            assertEquals("S[" + r + "][" + c + "]", Json.asString(smp.get(2), "f32"),
                    FloatHex.f32ToHex(s.get(r, c)));
        }
    }

    /** Builds a seed file exactly as seed.json's header describes. */
    static byte[] seedFileBytes(Map<String, Object> in) {
        boolean hasHeader = Json.getBoolean(in, "has_header", "has_header");
        long[] z = TestSupport.splitmix64(TestSupport.prngSeed(in.get("matrix_prng"), "matrix_prng"),
                Seed.ROWS * Seed.COLS);
        ByteBuffer bb = ByteBuffer.allocate(Seed.F32_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : z) {
            double d = (double) (v >>> 40) / (double) (1 << 23) - 1.0;
            bb.putFloat((float) d);
        }
        byte[] matrix = bb.array();
        Object poison = in.get("poison");
        if (poison != null) {
            Map<String, Object> p = Json.asObject(poison, "poison");
            int index = Json.getInt(p, "index", "poison.index");
            int bits = (int) Long.parseLong(Json.getString(p, "float32", "poison.float32"), 16);
            ByteBuffer.wrap(matrix).order(ByteOrder.LITTLE_ENDIAN).putInt(index * 4, bits);
        }
        byte[] header = hasHeader
                ? TestSupport.prngBytes(TestSupport.prngSeed(in.get("header_prng"), "header_prng"), 128)
                : new byte[0];
        int length = Json.getInt(in, "length", "length");
        byte[] full = new byte[header.length + matrix.length];
        System.arraycopy(header, 0, full, 0, header.length);
        System.arraycopy(matrix, 0, full, header.length, matrix.length);
        return Arrays.copyOf(full, length); // cuts, or pads with zero bytes
    }
}

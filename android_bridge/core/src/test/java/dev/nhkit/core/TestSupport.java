package dev.nhkit.core;

import static org.junit.Assert.fail;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** Shared helpers for the core tests: locating repo files, splitmix64 pixels, vector files. */
final class TestSupport {
    private TestSupport() {}

    /** The repository root: {@code -Dnhkit.repo.root}, else the nearest parent with tests/vectors. */
    static File repoRoot() {
        String prop = System.getProperty("nhkit.repo.root");
        if (prop != null && !prop.isEmpty()) {
            return new File(prop).getAbsoluteFile();
        }
        File dir = new File(System.getProperty("user.dir")).getAbsoluteFile();
        for (File d = dir; d != null; d = d.getParentFile()) {
            if (new File(d, "tests/vectors").isDirectory() && new File(d, "android_bridge").isDirectory()) {
                return d;
            }
        }
        return dir;
    }

    /** {@code -Dnhkit.vectors.dir}, else {@code <repo>/tests/vectors}. */
    static File vectorsDir() {
        String prop = System.getProperty("nhkit.vectors.dir");
        if (prop != null && !prop.isEmpty()) {
            return new File(prop).getAbsoluteFile();
        }
        return new File(repoRoot(), "tests/vectors");
    }

    /** Every {@code *.json} in the vectors directory, sorted; empty when there are none. */
    static List<File> vectorFiles() {
        File dir = vectorsDir();
        File[] files = dir.listFiles((d, name) -> name.endsWith(".json"));
        if (files == null) {
            return new ArrayList<>();
        }
        Arrays.sort(files);
        return new ArrayList<>(Arrays.asList(files));
    }

    static Map<String, Object> readJsonObject(File f) {
        try {
            return Json.asObject(Json.parse(Files.readAllBytes(f.toPath())), f.getPath());
        } catch (IOException e) {
            fail("cannot read " + f + ": " + e);
            return null;
        }
    }

    // ------------------------------------------------------------------------ splitmix64 pixels

    /** The vectors README's SplitMix64 byte stream: outputs as 8 bytes little-endian each. */
    static byte[] prngBytes(long seed, int n) {
        byte[] out = new byte[n];
        long state = seed;
        for (int i = 0; i < n; i += 8) {
            state += 0x9E3779B97F4A7C15L;
            long z = state;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            z = z ^ (z >>> 31);
            for (int b = 0; b < 8 && i + b < n; b++) {
                out[i + b] = (byte) (z >>> (8 * b));
            }
        }
        return out;
    }

    /** SplitMix64 outputs as longs (for seed matrices). */
    static long[] splitmix64(long seed, int count) {
        long[] out = new long[count];
        long state = seed;
        for (int i = 0; i < count; i++) {
            state += 0x9E3779B97F4A7C15L;
            long z = state;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            out[i] = z ^ (z >>> 31);
        }
        return out;
    }

    /** Parses {@code {"algorithm": "splitmix64", "seed": "<16 hex>", "levels": k?}}. */
    static long prngSeed(Object prng, String what) {
        Map<String, Object> m = Json.asObject(prng, what);
        String alg = Json.getString(m, "algorithm", what + ".algorithm");
        if (!"splitmix64".equals(alg)) {
            throw new IllegalArgumentException(what + ": unknown prng algorithm " + alg);
        }
        String seed = Json.getString(m, "seed", what + ".seed");
        if (seed.length() != 16) {
            throw new IllegalArgumentException(what + ".seed: expected 16 hex digits");
        }
        return Long.parseUnsignedLong(seed, 16);
    }

    /** A splitmix64 image as the vectors README defines it (with optional {@code levels}). */
    static RgbImage prngImage(Object prng, int width, int height, String what) {
        Map<String, Object> m = Json.asObject(prng, what);
        byte[] px = prngBytes(prngSeed(prng, what), width * height * 3);
        if (m.containsKey("levels")) {
            int k = Json.getInt(m, "levels", what + ".levels");
            int step = 255 / (k - 1);
            for (int i = 0; i < px.length; i++) {
                px[i] = (byte) (((px[i] & 0xff) % k) * step);
            }
        }
        return new RgbImage(width, height, px);
    }

    static RgbImage randomImage(java.util.Random rnd, int w, int h) {
        byte[] px = new byte[w * h * 3];
        rnd.nextBytes(px);
        return new RgbImage(w, h, px);
    }
}

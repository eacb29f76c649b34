package dev.nhkit.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.AfterClass;
import org.junit.Test;

/**
 * The short deterministic profile of the bridges' reader fuzzer (ReaderFuzzTargets): each
 * reader's regression inputs plus NHKIT_FUZZ_ITERATIONS mutated inputs (default: the target's
 * short profile, 40-200) from run seed NHKIT_FUZZ_SEED (default 1). Every input gives a result or
 * the reader's documented error. The long run: benchmarks/fuzz_bridges.sh (ReaderFuzzMain).
 */
public class ReaderFuzzTest {
    private static Map<String, ReaderFuzzTargets.Target> targets;
    private static File scratch;
    private static final ReaderFuzzRunner RUNNER = new ReaderFuzzRunner();

    static synchronized ReaderFuzzTargets.Target target(String name) throws Exception {
        if (targets == null) {
            scratch = Files.createTempDirectory("nhkit-fuzz").toFile();
            targets = new LinkedHashMap<>();
            for (ReaderFuzzTargets.Target t : ReaderFuzzTargets.all(scratch)) {
                targets.put(t.name, t);
            }
        }
        ReaderFuzzTargets.Target t = targets.get(name);
        if (t == null) {
            throw new AssertionError("no fuzz target " + name);
        }
        return t;
    }

    @AfterClass
    public static void cleanUp() {
        RUNNER.close();
        if (scratch != null) {
            HashListVectorCases.deleteTree(scratch);
        }
    }

    static int envInt(String name, int dflt) {
        String v = System.getenv(name);
        return v == null || v.isEmpty() ? dflt : Integer.parseInt(v);
    }

    private static void fuzz(String name) throws Exception {
        ReaderFuzzTargets.Target t = target(name);
        assertFalse(name + ": no seeds", t.seeds.isEmpty());
        String dir = System.getenv("NHKIT_FUZZ_FINDINGS_DIR");
        ReaderFuzzRunner.Result r = RUNNER.run(t, envInt("NHKIT_FUZZ_SEED", 1),
                envInt("NHKIT_FUZZ_ITERATIONS", t.shortProfile), dir == null ? null : new File(dir));
        if (!r.findings.isEmpty()) {
            fail(name + ": " + r.findingCount() + " of " + r.executions + " inputs ended in an undocumented throwable: "
                    + r.findings);
        }
        if (!name.equals("orientation")) {
            assertTrue(name + ": no input was rejected (the oracle would be vacuous)", r.rejected > 0);
        }
    }

    @Test
    public void hex() throws Exception {
        fuzz("hex");
    }

    @Test
    public void seed() throws Exception {
        fuzz("seed");
    }

    @Test
    public void json() throws Exception {
        fuzz("json");
    }

    @Test
    public void bundleManifest() throws Exception {
        fuzz("bundle-manifest");
    }

    @Test
    public void selfTestCases() throws Exception {
        fuzz("selftest-cases");
    }

    @Test
    public void bundleFolder() throws Exception {
        fuzz("bundle-folder");
    }

    @Test
    public void hashListManifest() throws Exception {
        fuzz("hashlist-manifest");
    }

    @Test
    public void hashListFolder() throws Exception {
        fuzz("hashlist-folder");
    }

    @Test
    public void hashListZip() throws Exception {
        fuzz("hashlist-zip");
    }

    @Test
    public void orientationSource() throws Exception {
        fuzz("orientation");
    }

    /** Same (seed, reader, index), same input; and the stream is not degenerate. */
    @Test
    public void mutatorIsDeterministic() {
        List<byte[]> seeds = Arrays.asList("{\"a\": [1, 2, \"x\"], \"b\": null}".getBytes(StandardCharsets.UTF_8),
                new byte[64]);
        for (int i = 0; i < 50; i++) {
            assertArrayEquals(FuzzMutator.input(seeds, FuzzMutator.Rng.forInput(7, "json", i), 128),
                    FuzzMutator.input(seeds, FuzzMutator.Rng.forInput(7, "json", i), 128));
        }
        FuzzMutator.Rng r = FuzzMutator.Rng.forInput(7, "json", 0);
        Set<String> distinct = new HashSet<>();
        for (int i = 0; i < 50; i++) {
            distinct.add(Arrays.toString(FuzzMutator.input(seeds, r, 128)));
        }
        assertTrue(distinct.size() > 30);
    }

    /** The stream is Swift's: SplitMix64 from 7 (tests/vectors/README.md's generator). */
    @Test
    public void rngMatchesSplitMix64() {
        FuzzMutator.Rng r = new FuzzMutator.Rng(0);
        assertEquals(0xe220a8397b1dcdafL, r.next());
    }

    /** Java and Swift draw the same inputs (ReaderFuzzTests.testMutatorMatchesJava asserts this digest). */
    @Test
    public void mutatorMatchesSwift() throws Exception {
        byte[] counting = new byte[64];
        for (int i = 0; i < 64; i++) {
            counting[i] = (byte) i;
        }
        List<byte[]> seeds = Arrays.asList("{\"a\": [1, 2, \"x\"], \"b\": null}".getBytes(StandardCharsets.UTF_8),
                counting);
        java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
        for (int i = 0; i < 200; i++) {
            byte[] in = FuzzMutator.input(seeds, FuzzMutator.Rng.forInput(7, "json", i), 128);
            md.update(new byte[] {(byte) (in.length >> 8), (byte) in.length});
            md.update(in);
        }
        assertEquals("28983f34a3988eb42a1f5ea6bba2e67dfb425035a055079699cc9b4fefa657de",
                Hex.encode(md.digest()));
    }

    /** Re-sealing keeps a replaced file's checksum valid, so the parser behind it is reached. */
    @Test
    public void resealReachesTheEntriesParser() throws Exception {
        ReaderFuzzTargets.Target t = target("hashlist-folder");
        byte[] seed = null;
        for (byte[] s : t.seeds) {
            if ((s[0] & 0x7F) == 1) {
                seed = s;
                break;
            }
        }
        t.run.run(seed);
        byte[] extra = "{\"id\": 5}\n".getBytes(StandardCharsets.UTF_8);
        byte[] broken = Arrays.copyOf(seed, seed.length + extra.length);
        System.arraycopy(extra, 0, broken, seed.length, extra.length);
        try {
            t.run.run(broken);
            fail("a bad entry line was accepted");
        } catch (HashListException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("entries.jsonl"));
            assertFalse("re-sealed, so not a checksum error: " + e.getMessage(), e.getMessage().contains("sha256"));
        }
    }
}

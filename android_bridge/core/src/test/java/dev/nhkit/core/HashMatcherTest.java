package dev.nhkit.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** HashMatcher: search semantics (docs/hashlist-format.md) against a naive reference, threads. */
public class HashMatcherTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private HashMatcher matcher(List<HashListFixture.In> entries) throws Exception {
        return new HashMatcher(HashList.open(new HashListFixture(entries, true)
                .write(new File(tmp.newFolder(), "known-images"))));
    }

    private static String row(HashMatch m) {
        return m.entry + "/" + m.id + "/" + m.label + "/" + m.distance + "/" + m.nonfragileDistance;
    }

    private static List<String> rows(List<HashMatch> hits) {
        List<String> out = new ArrayList<>();
        for (HashMatch m : hits) {
            out.add(row(m));
        }
        return out;
    }

    /** The doc's definition, entry by entry, sorted by (distance, entry index). */
    private static List<String> naive(HashList l, NeuralHash q, NeuralHash fq, int t, List<NeuralHash> fe) {
        List<long[]> hits = new ArrayList<>();
        for (int i = 0; i < l.size(); i++) {
            NeuralHash h = l.entry(i).hash;
            int d = q.hamming(h);
            if (d <= t) {
                int nf = 0;
                for (int b = 0; b < 96; b++) {
                    boolean fragile = (fq != null && fq.bit(b)) || fe.get(i).bit(b);
                    if (q.bit(b) != h.bit(b) && !fragile) {
                        nf++;
                    }
                }
                hits.add(new long[] {d, i, nf});
            }
        }
        Collections.sort(hits, (a, b) -> a[0] != b[0] ? Long.compare(a[0], b[0]) : Long.compare(a[1], b[1]));
        List<String> out = new ArrayList<>();
        for (long[] x : hits) {
            HashList.Entry e = l.entry((int) x[1]);
            out.add(x[1] + "/" + e.id + "/" + e.label + "/" + x[0] + "/" + x[2]);
        }
        return out;
    }

    private static List<NeuralHash> fragileOf(HashListFixture f) {
        List<NeuralHash> out = new ArrayList<>();
        for (HashListFixture.In e : f.sorted) {
            out.add(NeuralHash.fromHex(e.fragile == null ? "000000000000000000000000" : e.fragile));
        }
        return out;
    }

    @Test
    public void smallListRows() throws Exception {
        HashMatcher m = matcher(HashListFixture.small());
        NeuralHash zero = NeuralHash.fromHex("000000000000000000000000");
        // Shared hash: both entries at distance 0, in entry order; tie at 4 between x and y
        // (entry order), and the boundary: T = 4 includes them, T = 3 does not.
        List<String> at4 = rows(m.search(zero, 4));
        assertEquals(5, at4.size());
        assertEquals("0/a-dup/dup one/0/0", at4.get(0));
        assertEquals("1/b-dup/dup two/0/0", at4.get(1));
        assertEquals("6/near3/null/3/1", at4.get(2)); // near3's own mask hides 2 of its 3 bits
        assertEquals("2/tie-x/x/4/4", at4.get(3));
        assertEquals("3/tie-y/y/4/0", at4.get(4)); // tie-y's mask covers its 4 differing bits
        assertEquals(3, m.search(zero, 3).size());
        // The query's own fragile mask takes bits off the non-fragile distance only.
        List<HashMatch> withMask = m.search(zero, NeuralHash.fromHex("00000000000000000000000f"), 4);
        assertEquals(4, withMask.get(3).distance);
        assertEquals(0, withMask.get(3).nonfragileDistance);
        assertEquals(8, m.search(zero, 96).size());
        assertEquals(Collections.emptyList(), m.search(NeuralHash.fromHex("aaaaaaaaaaaaaaaaaaaaaaaa"), 0));
    }

    @Test
    public void thresholdOutsideRange() throws Exception {
        HashMatcher m = matcher(HashListFixture.small());
        for (int t : new int[] {-1, 97, Integer.MIN_VALUE, Integer.MAX_VALUE}) {
            try {
                m.search(NeuralHash.fromHex("000000000000000000000000"), t);
                fail("accepted threshold " + t);
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("threshold"));
            }
        }
    }

    @Test
    public void emptyList() throws Exception {
        HashMatcher m = matcher(new ArrayList<>());
        assertEquals(0, m.search(NeuralHash.fromHex("000000000000000000000000"), 96).size());
    }

    /** Random clustered list: every query equals the naive definition at several thresholds. */
    @Test
    public void matchesNaiveDefinition() throws Exception {
        Random rnd = new Random(11);
        List<HashListFixture.In> in = new ArrayList<>();
        List<byte[]> centres = new ArrayList<>();
        for (int c = 0; c < 20; c++) {
            byte[] b = new byte[12];
            rnd.nextBytes(b);
            centres.add(b);
        }
        for (int i = 0; i < 400; i++) {
            byte[] b = centres.get(rnd.nextInt(centres.size())).clone();
            for (int k = rnd.nextInt(20); k > 0; k--) {
                int bit = rnd.nextInt(96);
                b[bit / 8] ^= (byte) (0x80 >>> (bit % 8));
            }
            byte[] f = new byte[12];
            f[rnd.nextInt(12)] = (byte) rnd.nextInt(256);
            in.add(new HashListFixture.In("id" + i, Hex.encode(b), rnd.nextBoolean() ? "l" + i : null,
                    Hex.encode(f)));
        }
        HashListFixture fx = new HashListFixture(in, true);
        HashList l = HashList.open(fx.write(new File(tmp.newFolder(), "known-images")));
        HashMatcher m = new HashMatcher(l);
        List<NeuralHash> fe = fragileOf(fx);
        int total = 0;
        for (int qi = 0; qi < 60; qi++) {
            byte[] q = centres.get(rnd.nextInt(centres.size())).clone();
            for (int k = rnd.nextInt(12); k > 0; k--) {
                int bit = rnd.nextInt(96);
                q[bit / 8] ^= (byte) (0x80 >>> (bit % 8));
            }
            byte[] fq = new byte[12];
            fq[rnd.nextInt(12)] = (byte) rnd.nextInt(256);
            NeuralHash qh = NeuralHash.fromBytes(q);
            NeuralHash fqh = qi % 2 == 0 ? null : NeuralHash.fromBytes(fq);
            for (int t : new int[] {0, 8, 12, 16, 24, 96}) {
                List<String> got = rows(m.search(qh, fqh, t));
                assertEquals("query " + qi + " T=" + t, naive(l, qh, fqh, t, fe), got);
                total += got.size();
            }
        }
        assertTrue("the test must exercise hits: " + total, total > 1000);
    }

    /** Many threads querying one matcher get exactly the single-threaded answers. */
    @Test
    public void concurrentQueriesAgree() throws Exception {
        Random rnd = new Random(5);
        List<HashListFixture.In> in = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            byte[] b = new byte[12];
            rnd.nextBytes(b);
            b[0] = (byte) (b[0] & 0x0f); // some closeness
            in.add(new HashListFixture.In("e" + i, Hex.encode(b), "l" + i, null));
        }
        final HashMatcher m = matcher(in);
        final List<NeuralHash> queries = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            queries.add(m.list().entry(rnd.nextInt(2000)).hash);
        }
        final List<List<String>> expected = new ArrayList<>();
        for (NeuralHash q : queries) {
            expected.add(rows(m.search(q, 40)));
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Integer>> futures = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                final int seed = t;
                futures.add(pool.submit(new Callable<Integer>() {
                    @Override
                    public Integer call() {
                        int mismatches = 0;
                        for (int r = 0; r < 20; r++) {
                            for (int i = 0; i < queries.size(); i++) {
                                int qi = (i * 7 + seed + r) % queries.size();
                                if (!rows(m.search(queries.get(qi), 40)).equals(expected.get(qi))) {
                                    mismatches++;
                                }
                            }
                        }
                        return mismatches;
                    }
                }));
            }
            int hits = 0;
            for (List<String> e : expected) {
                hits += e.size();
            }
            assertTrue("queries must have hits", hits > queries.size());
            for (Future<Integer> f : futures) {
                assertEquals(Integer.valueOf(0), f.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }
}

package dev.nhkit.core;

import java.io.File;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * Range queries against a {@link HashList} by brute force: each distinct hash is two words (bits
 * 0..63 in a {@code long}, 64..95 in an {@code int}) and a distance is two
 * {@link Long#bitCount}/{@link Integer#bitCount} calls, so a query over 100,000 hashes is a
 * single pass over 1.2 MB of memory (benchmarks/results/match_java.md).
 *
 * <p>Rows follow docs/hashlist-format.md exactly: every entry whose hash is within
 * {@code threshold} bits, sorted by distance, then by entry index, each with its non-fragile
 * distance.
 *
 * <p>Thread safety: a matcher is immutable (as is its list); {@code search} allocates only its
 * own result, so any number of threads may query one matcher concurrently. Load once, share.
 */
public final class HashMatcher {
    private final HashList list;

    public HashMatcher(HashList list) {
        this.list = list;
    }

    /** Loads and verifies a list folder or zip ({@link HashList#open(File)}). */
    public static HashMatcher open(File folderOrZip) throws HashListException {
        return new HashMatcher(HashList.open(folderOrZip));
    }

    public HashList list() {
        return list;
    }

    /** Range query without a query fragile mask (all of the query's bits count as sure). */
    public List<HashMatch> search(NeuralHash query, int threshold) {
        return search(query, null, threshold);
    }

    /**
     * Range query for a hash computed on this device: its fragile mask is taken from its
     * projections at the list's {@code spec.fragile_margin} (the margin the list's own masks were
     * made with), so the non-fragile distance compares like with like.
     */
    public List<HashMatch> search(HashResult result, int threshold) {
        return search(result.hash, result.fragileAt(list.spec().fragileMargin()), threshold);
    }

    /**
     * Every entry within {@code threshold} bits of {@code query}.
     *
     * @param fragile the query's fragile mask, or {@code null} for none
     * @param threshold a hit is {@code distance <= threshold}; 0..96
     * @return hits sorted by distance, then entry index (unmodifiable; empty when none)
     * @throws IllegalArgumentException when threshold is outside 0..96
     */
    public List<HashMatch> search(NeuralHash query, NeuralHash fragile, int threshold) {
        if (threshold < 0 || threshold > Spec.HASH_BITS) {
            throw new IllegalArgumentException("threshold " + threshold + " is outside 0.."
                    + Spec.HASH_BITS);
        }
        ByteBuffer q = ByteBuffer.wrap(query.toBytes());
        long qh = q.getLong(0);
        int ql = q.getInt(8);
        long fqh = 0;
        int fql = 0;
        if (fragile != null) {
            ByteBuffer f = ByteBuffer.wrap(fragile.toBytes());
            fqh = f.getLong(0);
            fql = f.getInt(8);
        }
        long[] hi = list.hashHi;
        int[] lo = list.hashLo;
        int[] offsets = list.offsets;
        long[] keys = new long[16];
        int count = 0;
        for (int k = 0; k < hi.length; k++) {
            int d = Long.bitCount(qh ^ hi[k]) + Integer.bitCount(ql ^ lo[k]);
            if (d <= threshold) {
                for (int e = offsets[k]; e < offsets[k + 1]; e++) {
                    if (count == keys.length) {
                        keys = Arrays.copyOf(keys, 2 * count);
                    }
                    keys[count++] = ((long) d << 32) | e;
                }
            }
        }
        if (count == 0) {
            return Collections.emptyList();
        }
        Arrays.sort(keys, 0, count);
        long[] fHi = list.fragileHi;
        int[] fLo = list.fragileLo;
        List<HashMatch> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int d = (int) (keys[i] >>> 32);
            int e = (int) keys[i];
            HashList.Entry entry = list.entry(e);
            int k = groupOf(offsets, e);
            long xh = (qh ^ hi[k]) & ~(fqh | (fHi == null ? 0 : fHi[e]));
            int xl = (ql ^ lo[k]) & ~(fql | (fLo == null ? 0 : fLo[e]));
            out.add(new HashMatch(e, entry.id, entry.label, d, Long.bitCount(xh) + Integer.bitCount(xl)));
        }
        return Collections.unmodifiableList(out);
    }

    /** The hash group that owns entry {@code e} (binary search over the offsets). */
    private static int groupOf(int[] offsets, int e) {
        int lo = 0;
        int hi = offsets.length - 2;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (offsets[mid] <= e) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }
}

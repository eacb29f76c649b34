package dev.nhkit.core;

/**
 * One hit of a range query (docs/hashlist-format.md, "Search semantics"). Immutable.
 */
public final class HashMatch {
    /** The entry's 0-based line in entries.jsonl. */
    public final int entry;
    public final String id;
    /** {@code null} when the entry has no label. */
    public final String label;
    /** {@code popcount(q XOR h)}, 0..96. */
    public final int distance;
    /**
     * {@code popcount((q XOR h) AND NOT (fq OR fe))}: the differing bits that neither the query's
     * nor the entry's fragile mask marks as unsure. Never more than {@link #distance}.
     */
    public final int nonfragileDistance;

    HashMatch(int entry, String id, String label, int distance, int nonfragileDistance) {
        this.entry = entry;
        this.id = id;
        this.label = label;
        this.distance = distance;
        this.nonfragileDistance = nonfragileDistance;
    }

    @Override
    public String toString() {
        return "HashMatch{entry=" + entry + ", id=" + FloatHex.quote(id) + ", label="
                + FloatHex.quote(label) + ", distance=" + distance + ", nonfragile_distance="
                + nonfragileDistance + "}";
    }
}

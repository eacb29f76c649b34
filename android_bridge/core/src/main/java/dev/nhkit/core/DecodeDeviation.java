package dev.nhkit.core;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A lossy self-test case's distance from the reference (device report {@code decode_deviation},
 * docs/device-report.md): the platform's own JPEG/HEIC decoder MAY differ from Pillow (spec,
 * "the same"), so instead of a bare pass/fail the device measures how far: the share of the
 * 360x360x3 resized samples that differ from the bundle's {@code .rgb360}, the largest absolute
 * difference, and the bits the hash flipped against the expected hash. Same numbers as Python's
 * {@code runtime/decode_deviation.py} and Swift's {@code DecodeDeviation}.
 */
public final class DecodeDeviation {
    /** Share (0..1) of the resized samples that differ from the reference. */
    public final double samplesDiffering;
    /** Largest absolute sample difference (0..255). */
    public final int maxAbsDelta;
    /** Hamming distance of the device's hash to the expected hash. */
    public final int bitsFlipped;

    DecodeDeviation(double samplesDiffering, int maxAbsDelta, int bitsFlipped) {
        this.samplesDiffering = samplesDiffering;
        this.maxAbsDelta = maxAbsDelta;
        this.bitsFlipped = bitsFlipped;
    }

    /**
     * @throws IllegalArgumentException if the two byte arrays differ in length
     */
    public static DecodeDeviation measure(byte[] deviceRgb360, byte[] referenceRgb360,
            NeuralHash deviceHash, NeuralHash expectedHash) {
        if (deviceRgb360.length != referenceRgb360.length || deviceRgb360.length == 0) {
            throw new IllegalArgumentException("resized bytes differ in length: "
                    + deviceRgb360.length + " vs " + referenceRgb360.length);
        }
        int differing = 0;
        int max = 0;
        for (int i = 0; i < deviceRgb360.length; i++) {
            int d = Math.abs((deviceRgb360[i] & 0xff) - (referenceRgb360[i] & 0xff));
            if (d != 0) {
                differing++;
                max = Math.max(max, d);
            }
        }
        return new DecodeDeviation((double) differing / deviceRgb360.length, max,
                deviceHash.hamming(expectedHash));
    }

    Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("samples_differing", samplesDiffering);
        m.put("max_abs_delta", (long) maxAbsDelta);
        m.put("bits_flipped", (long) bitsFlipped);
        return m;
    }
}

package dev.nhkit.core;

/**
 * 16-bit PNG samples that reached us as half floats (Android 8+ decodes 16-bit PNGs to
 * {@code RGBA_F16}, value {@code v / 65535} in the non-linear extended-sRGB space, whatever
 * config was requested). Spec step 1 wants the high byte {@code v >> 8} of the stored sample,
 * but a half float has an 11-bit significand, so near 1.0 about 32 consecutive values of
 * {@code v} share one half float and the high byte is not always recoverable: measured
 * exhaustively in {@code HalfFloat16Test}, {@link #highByte} misses {@code v >> 8} (by exactly 1)
 * for 2,712 of the 65,536 values with round-to-nearest conversion, 4,064 with skcms's portable
 * truncation; it is exact for 8-bit values widened to 16 bits ({@code v = b * 257}). So decoders that go through F16
 * report the case as a divergence ("16-bit via F16, high byte may differ by 1"); lossless
 * bit-exactness then holds only for 16-bit images whose samples avoid those values.
 * Java 11 / Android 24 have no {@code Float.float16ToFloat}, hence our own conversions.
 */
public final class HalfFloat16 {
    private HalfFloat16() {}

    /** IEEE-754 binary16 bits -> float (exact). */
    public static float toFloat(int h) {
        int sign = (h & 0x8000) << 16;
        int e = (h >>> 10) & 0x1f;
        int m = h & 0x3ff;
        if (e == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (m << 13));
        }
        if (e == 0) {
            float v = m * 0x1p-24f; // subnormal: exact
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((e - 15 + 127) << 23) | (m << 13));
    }

    /**
     * Best estimate of the stored 16-bit sample's high byte from its half float: the nearest
     * {@code v} to {@code h * 65535}, clamped to 0..65535, shifted right by 8.
     */
    public static int highByte(int h) {
        float f = toFloat(h);
        if (!(f > 0f)) {
            return 0; // zero, negative or NaN
        }
        long v = Math.round((double) f * 65535.0);
        return (int) (Math.min(65535L, v) >> 8);
    }

    /** float -> binary16 bits, round to nearest even (ARM/x86 hardware conversion). */
    public static int fromFloatRoundNearest(float f) {
        int bits = Float.floatToIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int e = (bits >>> 23) & 0xff;
        int m = bits & 0x7fffff;
        int he = e - 127 + 15;
        if (e == 0xff || he >= 0x1f) {
            return sign | 0x7c00 | (e == 0xff && m != 0 ? 0x200 : 0);
        }
        if (he <= 0) {
            if (he < -10) {
                return sign;
            }
            m |= 0x800000;
            int shift = 14 - he;
            int hm = m >> shift;
            int rem = m & ((1 << shift) - 1);
            int half = 1 << (shift - 1);
            if (rem > half || (rem == half && (hm & 1) == 1)) {
                hm++;
            }
            return sign | hm;
        }
        int r = (he << 10) | (m >> 13);
        int rem = m & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (r & 1) == 1)) {
            r++;
        }
        return sign | r;
    }

    /** float -> binary16 bits as skcms's portable code does: truncate, flush below 2^-14 to 0. */
    public static int fromFloatTruncate(float f) {
        int sem = Float.floatToIntBits(f);
        int s = sem & 0x80000000;
        int em = sem ^ s;
        if (em < 0x38800000) {
            return 0;
        }
        return ((s >>> 16) + (em >>> 13) - ((127 - 15) << 10)) & 0xffff;
    }
}

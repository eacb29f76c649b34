package dev.nhkit.core;

/**
 * Floats as IEEE-754 bit patterns in lowercase hex, the encoding every nhkit JSON file uses:
 * a float32 is 8 digits, a float64 16 digits, big-endian reading of the bits
 * ({@code 1.0f -> "3f800000"}, {@code 1.0 -> "3ff0000000000000"}). Exact in every language.
 */
public final class FloatHex {
    private static final char[] DIGITS = "0123456789abcdef".toCharArray();

    private FloatHex() {}

    public static String f32ToHex(float value) {
        return hexBits(Float.floatToRawIntBits(value) & 0xffffffffL, 8);
    }

    public static String f64ToHex(double value) {
        return hexBits(Double.doubleToRawLongBits(value), 16);
    }

    public static String[] f32ToHex(float[] values) {
        String[] out = new String[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = f32ToHex(values[i]);
        }
        return out;
    }

    public static String[] f64ToHex(double[] values) {
        String[] out = new String[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = f64ToHex(values[i]);
        }
        return out;
    }

    /**
     * Inverse of {@link #f32ToHex(float)}; accepts exactly 8 lowercase hex digits.
     *
     * @param what names the value in the error message (e.g. {@code "embedding[3]"})
     */
    public static float hexToF32(String text, String what) {
        if (!Hex.isLowerHex(text, 8)) {
            throw new IllegalArgumentException(what + ": expected 8 lowercase hex digits, got "
                    + quote(text));
        }
        return Float.intBitsToFloat((int) Long.parseLong(text, 16));
    }

    /** Inverse of {@link #f64ToHex(double)}; accepts exactly 16 lowercase hex digits. */
    public static double hexToF64(String text, String what) {
        if (!Hex.isLowerHex(text, 16)) {
            throw new IllegalArgumentException(what + ": expected 16 lowercase hex digits, got "
                    + quote(text));
        }
        long hi = Long.parseLong(text.substring(0, 8), 16);
        long lo = Long.parseLong(text.substring(8), 16);
        return Double.longBitsToDouble((hi << 32) | lo);
    }

    private static String hexBits(long bits, int digits) {
        char[] out = new char[digits];
        for (int i = digits - 1; i >= 0; i--) {
            out[i] = DIGITS[(int) (bits & 0xf)];
            bits >>>= 4;
        }
        return new String(out);
    }

    static String quote(String s) {
        return s == null ? "null" : "\"" + s + "\"";
    }
}

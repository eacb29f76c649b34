package dev.nhkit.core;

/**
 * Lowercase hex for byte strings (digests, raw bytes in vectors). ASCII digits only.
 * Package-private: the core's own readers and digests use it; apps get hex from
 * {@link NeuralHash#toHex()} and the digests the core reports.
 */
final class Hex {
    private static final char[] DIGITS = "0123456789abcdef".toCharArray();

    private Hex() {}

    static String encode(byte[] bytes) {
        return encode(bytes, 0, bytes.length);
    }

    static String encode(byte[] bytes, int offset, int length) {
        char[] out = new char[length * 2];
        for (int i = 0; i < length; i++) {
            int b = bytes[offset + i] & 0xff;
            out[2 * i] = DIGITS[b >>> 4];
            out[2 * i + 1] = DIGITS[b & 0xf];
        }
        return new String(out);
    }

    /**
     * Parses an even-length string of ASCII hex digits (either case).
     *
     * @throws IllegalArgumentException on odd length or any other character
     */
    static byte[] decode(String text) {
        if (text == null || (text.length() & 1) != 0) {
            throw new IllegalArgumentException("hex string must have an even number of digits, got "
                    + (text == null ? "null" : text.length() + " characters"));
        }
        byte[] out = new byte[text.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) ((digit(text, 2 * i) << 4) | digit(text, 2 * i + 1));
        }
        return out;
    }

    /** Value of the ASCII hex digit at {@code index}, or IllegalArgumentException. */
    static int digit(String text, int index) {
        char c = text.charAt(index);
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        throw new IllegalArgumentException("not a hex digit at index " + index + ": '" + c + "'");
    }

    static boolean isLowerHex(String s, int length) {
        if (s == null || s.length() != length) {
            return false;
        }
        for (int i = 0; i < length; i++) {
            char c = s.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                return false;
            }
        }
        return true;
    }
}

package dev.nhkit.core;

/**
 * An immutable 96-bit nhkit hash (spec section 7). Bit 0 is the most significant bit of the first
 * hex digit; the canonical text form is 24 lowercase hex digits.
 */
public final class NeuralHash {
    public static final int BITS = Spec.HASH_BITS;
    public static final int HEX_DIGITS = BITS / 4;

    /** Bits 0..63, bit 0 in the most significant position. */
    private final long hi;
    /** Bits 64..95, bit 64 in the most significant position. */
    private final int lo;

    private NeuralHash(long hi, int lo) {
        this.hi = hi;
        this.lo = lo;
    }

    /**
     * Parses exactly 24 ASCII hex digits in either case and nothing else (no prefix, no
     * whitespace).
     *
     * @throws IllegalArgumentException for anything else
     */
    public static NeuralHash fromHex(String text) {
        if (text == null || text.length() != HEX_DIGITS) {
            throw new IllegalArgumentException("not a " + BITS + "-bit hash: expected exactly "
                    + HEX_DIGITS + " hex digits, got " + FloatHex.quote(text));
        }
        long hi = 0;
        int lo = 0;
        for (int i = 0; i < HEX_DIGITS; i++) {
            int d;
            try {
                d = Hex.digit(text, i);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("not a " + BITS + "-bit hash: expected exactly "
                        + HEX_DIGITS + " hex digits, got " + FloatHex.quote(text), e);
            }
            if (i < 16) {
                hi = (hi << 4) | d;
            } else {
                lo = (lo << 4) | d;
            }
        }
        return new NeuralHash(hi, lo);
    }

    /** From 96 booleans, bit 0 first. */
    public static NeuralHash fromBits(boolean[] bits) {
        if (bits.length != BITS) {
            throw new IllegalArgumentException("expected " + BITS + " bits, got " + bits.length);
        }
        long hi = 0;
        int lo = 0;
        for (int i = 0; i < 64; i++) {
            hi = (hi << 1) | (bits[i] ? 1 : 0);
        }
        for (int i = 64; i < BITS; i++) {
            lo = (lo << 1) | (bits[i] ? 1 : 0);
        }
        return new NeuralHash(hi, lo);
    }

    /** From 12 bytes, bit 0 the most significant bit of byte 0. */
    public static NeuralHash fromBytes(byte[] bytes) {
        if (bytes.length != BITS / 8) {
            throw new IllegalArgumentException("expected " + (BITS / 8) + " bytes, got " + bytes.length);
        }
        long hi = 0;
        for (int i = 0; i < 8; i++) {
            hi = (hi << 8) | (bytes[i] & 0xff);
        }
        int lo = 0;
        for (int i = 8; i < 12; i++) {
            lo = (lo << 8) | (bytes[i] & 0xff);
        }
        return new NeuralHash(hi, lo);
    }

    public boolean bit(int index) {
        if (index < 0 || index >= BITS) {
            throw new IndexOutOfBoundsException("bit " + index + " of " + BITS);
        }
        if (index < 64) {
            return ((hi >>> (63 - index)) & 1L) != 0;
        }
        return ((lo >>> (95 - index)) & 1) != 0;
    }

    public boolean[] toBits() {
        boolean[] out = new boolean[BITS];
        for (int i = 0; i < BITS; i++) {
            out[i] = bit(i);
        }
        return out;
    }

    /** 96 characters of {@code 0}/{@code 1}, bit 0 first. */
    public String toBitString() {
        StringBuilder sb = new StringBuilder(BITS);
        for (int i = 0; i < BITS; i++) {
            sb.append(bit(i) ? '1' : '0');
        }
        return sb.toString();
    }

    public byte[] toBytes() {
        byte[] out = new byte[12];
        for (int i = 0; i < 8; i++) {
            out[i] = (byte) (hi >>> (56 - 8 * i));
        }
        for (int i = 0; i < 4; i++) {
            out[8 + i] = (byte) (lo >>> (24 - 8 * i));
        }
        return out;
    }

    /** The canonical 24 lowercase hex digits. */
    public String toHex() {
        return Hex.encode(toBytes());
    }

    /** Number of differing bits, 0..96. */
    public int hamming(NeuralHash other) {
        return Long.bitCount(hi ^ other.hi) + Integer.bitCount(lo ^ other.lo);
    }

    /** Number of set bits (useful for fragile masks). */
    public int bitCount() {
        return Long.bitCount(hi) + Integer.bitCount(lo);
    }

    /** Hamming distance between two hex strings (each validated like {@link #fromHex}). */
    public static int hamming(String a, String b) {
        return fromHex(a).hamming(fromHex(b));
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof NeuralHash)) {
            return false;
        }
        NeuralHash h = (NeuralHash) o;
        return h.hi == hi && h.lo == lo;
    }

    @Override
    public int hashCode() {
        return (int) (hi ^ (hi >>> 32)) * 31 + lo;
    }

    @Override
    public String toString() {
        return toHex();
    }
}

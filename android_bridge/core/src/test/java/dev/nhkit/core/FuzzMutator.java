package dev.nhkit.core;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * The bridges' seeded mutation fuzzer: the same operators, in the same order and on the same
 * SplitMix64 stream as Swift's (ios_bridge/Tests/NHCoreTests/Fuzz/FuzzMutator.swift). Input
 * {@code i} of a reader is a function of (run seed, reader name, i) only, so a finding is
 * reproducible from those three values.
 */
final class FuzzMutator {
    private FuzzMutator() {}

    /** SplitMix64; {@link #below} is the unsigned remainder, as in Swift. */
    static final class Rng {
        long state;

        Rng(long seed) {
            state = seed;
        }

        long next() {
            state += 0x9E3779B97F4A7C15L;
            long z = state;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            return z ^ (z >>> 31);
        }

        int below(int n) {
            return (int) Long.remainderUnsigned(next(), Math.max(n, 1));
        }

        static Rng forInput(long seed, String reader, int index) {
            long h = 0xcbf29ce484222325L;
            for (byte b : reader.getBytes(StandardCharsets.UTF_8)) {
                h = (h ^ (b & 0xFF)) * 0x00000100000001b3L;
            }
            Rng r = new Rng(seed ^ h ^ ((long) index * 0xD1B54A32D192ED03L));
            r.next();
            return r;
        }
    }

    static final String[] JSON_TOKENS = {
        "0", "-1", "-0", "1.5", "1e999", "-1e999", "1e-400", "9223372036854775807", "9223372036854775808",
        "-9223372036854775809", "18446744073709551616", "2147483648", "4294967296", "0.1", "360", "96", "128",
        "null", "true", "false", "\"\"", "\"x\"", "[]", "{}", "[null]", "{\"\": 0}", "\"\\u0000\"", "\"\\ud800\"",
        "\"../x\"", "\"/abs\"", "\"a/../../b\"", "\"" + "a".repeat(300) + "\"",
        "[".repeat(300), "NaN", "Infinity", "\"0000000000000000000000000\"",
        "\"nh-spec-v1\"", "\"NHWC\"", "\"NCHW\"", "\"int8\"", "\"float32\"", "\"uint8\"",
    };
    static final int[] BYTES = {0, 1, 0x7F, 0x80, 0xFF, 0x22, 0x5C, 0x7B, 0x7D, 0x5B, 0x5D, 0x2C, 0x3A, 0x0A, 0x2D, 0x2E};
    static final long[] WORDS = {0, 1, 0x7FFFFFFFL, 0x80000000L, 0xFFFFFFFFL, 0xFFFF, 0x10000, 0x7F800000L, 0x7FC00000L, 8, 0x112};

    /** One input: a seed (chosen by the stream) with 1-4 stacked mutations, at most maxLength bytes. */
    static byte[] input(List<byte[]> seeds, Rng rng, int maxLength) {
        Buf d = new Buf(seeds.get(rng.below(seeds.size())));
        int n = 1 + rng.below(4);
        for (int k = 0; k < n; k++) {
            mutate(d, seeds, rng, maxLength);
        }
        return Arrays.copyOf(d.a, Math.min(d.n, maxLength));
    }

    /** A growable byte array. */
    static final class Buf {
        byte[] a;
        int n;

        Buf(byte[] src) {
            a = Arrays.copyOf(src, Math.max(16, src.length * 2));
            n = src.length;
        }

        void replace(int from, int to, byte[] with) {
            byte[] out = new byte[n - (to - from) + with.length];
            System.arraycopy(a, 0, out, 0, from);
            System.arraycopy(with, 0, out, from, with.length);
            System.arraycopy(a, to, out, from + with.length, n - to);
            a = out;
            n = out.length;
        }

        byte[] slice(int from, int to) {
            return Arrays.copyOfRange(a, from, to);
        }
    }

    static void mutate(Buf d, List<byte[]> seeds, Rng rng, int maxLength) {
        int op = rng.below(10);
        int pos = rng.below(d.n + 1);
        switch (op) {
            case 0:
                if (pos < d.n) {
                    d.a[pos] ^= (byte) (1 << rng.below(8));
                }
                break;
            case 1:
                if (pos < d.n) {
                    d.a[pos] = (byte) BYTES[rng.below(BYTES.length)];
                }
                break;
            case 2: {
                int k = 1 + rng.below(8);
                byte[] ins = new byte[k];
                for (int i = 0; i < k; i++) {
                    ins[i] = (byte) rng.next();
                }
                d.replace(pos, pos, ins);
                break;
            }
            case 3: {
                int k = Math.min(1 + rng.below(16), d.n - pos);
                if (k > 0) {
                    d.replace(pos, pos + k, new byte[0]);
                }
                break;
            }
            case 4:
                d.n = pos;
                break;
            case 5: {
                if (d.n == 0) {
                    return;
                }
                int from = rng.below(d.n);
                int k = Math.min(1 + rng.below(64), d.n - from);
                byte[] chunk = d.slice(from, from + k);
                int at = rng.below(d.n + 1);
                d.replace(at, at, chunk);
                break;
            }
            case 6: {
                byte[] other = seeds.get(rng.below(seeds.size()));
                int cut = rng.below(other.length + 1);
                d.replace(pos, d.n, Arrays.copyOfRange(other, cut, other.length));
                break;
            }
            case 7: {
                if (d.n < 4) {
                    return;
                }
                int at = rng.below(d.n - 3);
                long w = WORDS[rng.below(WORDS.length)];
                boolean le = rng.below(2) == 0;
                for (int k = 0; k < 4; k++) {
                    d.a[at + k] = (byte) (w >>> (8 * (le ? k : 3 - k)));
                }
                break;
            }
            case 8: {
                int[] r = tokenRange(d, pos);
                if (r != null) {
                    d.replace(r[0], r[1], JSON_TOKENS[rng.below(JSON_TOKENS.length)].getBytes(StandardCharsets.UTF_8));
                }
                break;
            }
            default: {
                int[] r = tokenRange(d, pos);
                if (r != null) {
                    byte[] tok = d.slice(r[0], r[1]);
                    byte[] ins = Arrays.copyOf(tok, tok.length + 2);
                    ins[tok.length] = ',';
                    ins[tok.length + 1] = ' ';
                    d.replace(r[0], r[0], ins);
                }
                break;
            }
        }
        if (d.n > 2 * maxLength) {
            d.n = 2 * maxLength;
        }
    }

    private static boolean digit(byte c) {
        return c >= '0' && c <= '9';
    }

    /** [start, end) of the first JSON token at or after {@code from}, or null. */
    static int[] tokenRange(Buf buf, int from) {
        byte[] d = buf.a;
        int n = buf.n;
        for (int i = from; i < n; i++) {
            byte c = d[i];
            if (c == '"') {
                int j = i + 1;
                while (j < n && d[j] != '"') {
                    j += d[j] == '\\' ? 2 : 1;
                }
                return new int[] {i, Math.min(j + 1, n)};
            }
            if (c == '-' || digit(c)) {
                int j = i + 1;
                while (j < n && (digit(d[j]) || d[j] == '+' || d[j] == '-' || d[j] == '.' || d[j] == 'E' || d[j] == 'e')) {
                    j++;
                }
                return new int[] {i, j};
            }
            if (c == 't' || c == 'f' || c == 'n') {
                int j = i + 1;
                while (j < n && d[j] >= 'a' && d[j] <= 'z') {
                    j++;
                }
                return new int[] {i, j};
            }
            if (c == '[' || c == '{') {
                int depth = 0;
                boolean inString = false;
                for (int j = i; j < n; j++) {
                    byte x = d[j];
                    if (inString) {
                        if (x == '\\') {
                            j++;
                        } else if (x == '"') {
                            inString = false;
                        }
                    } else if (x == '"') {
                        inString = true;
                    } else if (x == '[' || x == '{') {
                        depth++;
                    } else if (x == ']' || x == '}') {
                        depth--;
                        if (depth == 0) {
                            return new int[] {i, j + 1};
                        }
                    }
                }
                return new int[] {i, n};
            }
        }
        return null;
    }
}

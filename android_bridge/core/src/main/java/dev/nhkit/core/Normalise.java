package dev.nhkit.core;

import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;

/**
 * Spec step 4: 360x360 RGB8 -> float32 tensor. Each sample {@code v} becomes
 * {@code ((float32(v) / 255) * 2) - 1} computed in binary32 with every operation rounded; the
 * 256 results are tabulated once (the table <em>is</em> that arithmetic).
 */
public final class Normalise {
    private static final float[] TABLE = buildTable();

    private Normalise() {}

    private static float[] buildTable() {
        float[] t = new float[256];
        for (int v = 0; v < 256; v++) {
            // float / float, float * float, float - float: each rounded to binary32 (Java float
            // arithmetic is IEEE-754 binary32, no excess precision since Java 17).
            t[v] = (((float) v / 255.0f) * 2.0f) - 1.0f;
        }
        return t;
    }

    /** The normalised value of one sample 0..255. */
    public static float value(int sample) {
        return TABLE[sample & 0xff];
    }

    /** A copy of the 256-entry table. */
    public static float[] table() {
        return TABLE.clone();
    }

    /** Checks that {@code img} is the spec's 360 x 360. */
    static void requireInputSize(RgbImage img) {
        if (img.width() != Spec.SIZE || img.height() != Spec.SIZE) {
            throw new IllegalArgumentException("normalise expects a " + Spec.SIZE + "x" + Spec.SIZE
                    + " image, got " + img.width() + "x" + img.height());
        }
    }

    /** Any-size image to a float array in {@code layout} ([3,H,W] or [H,W,3] order). */
    public static float[] toTensor(RgbImage img, Layout layout) {
        final byte[] px = img.pixels();
        final int plane = img.width() * img.height();
        final float[] out = new float[plane * 3];
        if (layout == Layout.NHWC) {
            for (int i = 0; i < out.length; i++) {
                out[i] = TABLE[px[i] & 0xff];
            }
        } else {
            for (int p = 0, s = 0; p < plane; p++, s += 3) {
                out[p] = TABLE[px[s] & 0xff];
                out[plane + p] = TABLE[px[s + 1] & 0xff];
                out[2 * plane + p] = TABLE[px[s + 2] & 0xff];
            }
        }
        return out;
    }

    /** The canonical model input: NCHW {@code [1, 3, 360, 360]} as a flat float array. */
    public static float[] toNchw(RgbImage img) {
        requireInputSize(img);
        return toTensor(img, Layout.NCHW);
    }

    /** sha256 of the float32 little-endian bytes of {@code tensor}. */
    public static String sha256Hex(float[] tensor) {
        MessageDigest md = Digests.newSha256();
        ByteBuffer bb = ByteBuffer.allocate(64 * 1024).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : tensor) {
            if (!bb.hasRemaining()) {
                md.update(bb.array(), 0, bb.position());
                ((Buffer) bb).clear(); // not ByteBuffer.clear(): missing on older Android
            }
            bb.putFloat(f);
        }
        md.update(bb.array(), 0, bb.position());
        return Hex.encode(md.digest());
    }

    /** The spec's tensor digest: sha256 of the canonical NCHW float32 LE bytes of {@code img}. */
    public static String tensorDigest(RgbImage img) {
        return sha256Hex(toTensor(img, Layout.NCHW));
    }
}

package dev.nhkit.core;

import java.nio.ByteBuffer;

/**
 * Packs the canonical NCHW tensor into a model's input buffer (layout and dtype from the bundle
 * manifest) and unpacks the model's output. The buffer's byte order is used as it is (LiteRT
 * wants native order), so callers set it.
 */
public final class TensorPacker {
    private TensorPacker() {}

    /**
     * Writes {@code nchw} ({@code 3*360*360} values) into {@code dst} at its position, permuted to
     * {@code io.layout}; float32 as is, int8 via the manifest's per-byte table (see
     * {@link #quantizeTensorValue}). Advances the position.
     */
    public static void pack(float[] nchw, ModelIO io, ByteBuffer dst) {
        final int plane = Spec.SIZE * Spec.SIZE;
        if (nchw.length != 3 * plane) {
            throw new IllegalArgumentException("expected " + (3 * plane) + " tensor values, got "
                    + nchw.length);
        }
        if (dst.remaining() < io.byteCount()) {
            throw new IllegalArgumentException("input buffer has " + dst.remaining()
                    + " bytes left, the model input needs " + io.byteCount());
        }
        final boolean int8 = io.dtype == ModelIO.DType.INT8;
        if (io.layout == Layout.NCHW) {
            for (float t : nchw) {
                put(dst, t, int8, io);
            }
        } else {
            for (int p = 0; p < plane; p++) {
                put(dst, nchw[p], int8, io);
                put(dst, nchw[plane + p], int8, io);
                put(dst, nchw[2 * plane + p], int8, io);
            }
        }
    }

    private static void put(ByteBuffer dst, float t, boolean int8, ModelIO io) {
        if (int8) {
            dst.put(quantizeTensorValue(t, io));
        } else {
            dst.putFloat(t);
        }
    }

    /**
     * An int8 input value: a spec tensor value is always {@code Normalise.value(v)} for one pixel
     * byte {@code v}, so the manifest's lookup table ({@code quantization.lut}, the reference's own
     * result per byte) is used; any other value falls back to {@link #quantize}.
     */
    static byte quantizeTensorValue(float t, ModelIO io) {
        long v = Math.round((t + 1.0) * 127.5);
        if (v >= 0 && v <= 255
                && Float.floatToRawIntBits(Normalise.value((int) v)) == Float.floatToRawIntBits(t)) {
            return io.quantizedPixel((int) v);
        }
        return quantize(t, io.scale, io.zeroPoint, io.offset);
    }

    /** {@link #quantize(float, float, int, float)} with offset 0. */
    public static byte quantize(float t, float scale, int zeroPoint) {
        return quantize(t, scale, zeroPoint, 0f);
    }

    /**
     * {@code clamp(round_half_away(float32(t - offset) / float32(scale)) + zero_point, -128, 127)}:
     * the subtraction and the division are one binary32 operation each, rounding is to nearest
     * with ties away from zero (C {@code roundf}), exactly as the Python reference's
     * {@code quantize_input} (runtime/backends/tflite.py). A float32 quotient and {@code |q| + 0.5} are exact in binary64,
     * so {@code floor} there gives the exact mathematical rounding.
     */
    public static byte quantize(float t, float scale, int zeroPoint, float offset) {
        float q32 = (t - offset) / scale;
        double a = Math.floor(Math.abs((double) q32) + 0.5);
        double r = (q32 < 0 ? -a : a) + zeroPoint;
        if (r < -128) {
            return (byte) -128;
        }
        if (r > 127) {
            return (byte) 127;
        }
        return (byte) (int) r;
    }

    /** Reads the model's output at {@code src}'s position: float32, or int8 dequantized as
     * {@code float32(q - zero_point) * float32(scale)} in binary32. */
    public static float[] unpack(ModelIO io, ByteBuffer src) {
        int n = io.elementCount();
        if (n != Spec.EMBEDDING_DIM) {
            throw new IllegalArgumentException("output holds " + n + " values, expected "
                    + Spec.EMBEDDING_DIM);
        }
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = io.dtype == ModelIO.DType.INT8 ? (src.get() - io.zeroPoint) * io.scale
                    : src.getFloat();
        }
        return out;
    }
}

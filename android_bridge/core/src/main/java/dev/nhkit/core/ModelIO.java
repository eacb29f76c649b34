package dev.nhkit.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One model input or output as a bundle manifest describes it: name, shape, dtype
 * ({@code float32} or {@code int8}), layout (inputs only) and int8 quantization.
 */
public final class ModelIO {
    public enum DType {
        FLOAT32("float32", 4),
        INT8("int8", 1);

        public final String jsonName;
        public final int bytes;

        DType(String jsonName, int bytes) {
            this.jsonName = jsonName;
            this.bytes = bytes;
        }

        public static DType fromJson(String name, String what) {
            for (DType d : values()) {
                if (d.jsonName.equals(name)) {
                    return d;
                }
            }
            throw new IllegalArgumentException(what + ".dtype: must be \"float32\" or \"int8\", got "
                    + FloatHex.quote(name));
        }
    }

    public final String name;
    public final int[] shape;
    public final DType dtype;
    /** Inputs: the manifest's layout. Outputs: {@code null}. */
    public final Layout layout;
    /** int8 only; {@code NaN} for float32. */
    public final float scale;
    /** int8 only; 0 for float32. */
    public final int zeroPoint;
    /**
     * int8 inputs: what the model adds to its dequantized input, so the spec value is
     * {@code (q - zeroPoint) * scale + offset} ({@code quantization.offset}, 0 when absent;
     * nhkit's int8-io: -1 with zero point -128, so that the 256 spec values are exact). 0 otherwise.
     */
    public final float offset;
    /**
     * int8 inputs: the int8 value of each pixel byte 0..255 ({@code quantization.lut} of the
     * manifest, else computed with {@link TensorPacker#quantize}); {@code null} otherwise.
     */
    final byte[] lut;

    public ModelIO(String name, int[] shape, DType dtype, Layout layout, float scale, int zeroPoint) {
        this(name, shape, dtype, layout, scale, zeroPoint, 0f, null);
    }

    ModelIO(String name, int[] shape, DType dtype, Layout layout, float scale, int zeroPoint,
            float offset, byte[] lut) {
        this.name = name;
        this.shape = shape.clone();
        this.dtype = dtype;
        this.layout = layout;
        this.scale = scale;
        this.zeroPoint = zeroPoint;
        this.offset = offset;
        if (dtype == DType.INT8 && layout != null && lut == null) {
            lut = new byte[256];
            for (int v = 0; v < 256; v++) {
                lut[v] = TensorPacker.quantize(Normalise.value(v), scale, zeroPoint, offset);
            }
        }
        this.lut = lut;
    }

    /** int8 inputs: the quantized value of pixel byte {@code v}; see {@link #lut}. */
    public byte quantizedPixel(int v) {
        if (lut == null) {
            throw new IllegalStateException(name + " is not an int8 input");
        }
        return lut[v & 0xff];
    }

    /** The canonical float32 NCHW image input (what the Python reference feeds). */
    public static ModelIO floatInput(Layout layout) {
        int[] shape = layout == Layout.NCHW ? new int[] {1, 3, Spec.SIZE, Spec.SIZE}
                : new int[] {1, Spec.SIZE, Spec.SIZE, 3};
        return new ModelIO("image", shape, DType.FLOAT32, layout, Float.NaN, 0);
    }

    public static ModelIO floatEmbeddingOutput() {
        return new ModelIO("embedding", new int[] {1, Spec.EMBEDDING_DIM}, DType.FLOAT32, null,
                Float.NaN, 0);
    }

    public boolean quantized() {
        return dtype == DType.INT8;
    }

    public int elementCount() {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    public int byteCount() {
        return elementCount() * dtype.bytes;
    }

    /** Parses a manifest {@code inputs[i]} / {@code outputs[i]} entry and checks the interface. */
    static ModelIO fromJson(Object value, boolean input, String what) {
        Map<String, Object> m = Json.asObject(value, what);
        String name = Json.getString(m, "name", what + ".name");
        List<Object> shapeList = Json.getList(m, "shape", what + ".shape");
        int[] shape = new int[shapeList.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = Json.asInt(shapeList.get(i), what + ".shape[" + i + "]");
        }
        DType dtype = DType.fromJson(Json.getString(m, "dtype", what + ".dtype"), what);
        float scale = Float.NaN;
        int zp = 0;
        float offset = 0f;
        byte[] lut = null;
        Object q = m.get("quantization");
        if (dtype == DType.INT8) {
            if (q == null) {
                throw new IllegalArgumentException(what + ".quantization: int8 needs scale "
                        + "and zero_point");
            }
            Map<String, Object> qm = Json.asObject(q, what + ".quantization");
            double s = Json.getDouble(qm, "scale", what + ".quantization.scale");
            zp = Json.getInt(qm, "zero_point", what + ".quantization.zero_point");
            if (!(s > 0.0) || Double.isInfinite(s)) {
                throw new IllegalArgumentException(what + ".quantization.scale must be > 0, got " + s);
            }
            if (zp < -128 || zp > 127) {
                throw new IllegalArgumentException(what + ".quantization.zero_point " + zp
                        + " is outside int8");
            }
            scale = (float) s;
            if (input) {
                if (qm.get("offset") != null) {
                    double o = Json.getDouble(qm, "offset", what + ".quantization.offset");
                    if (Double.isNaN(o) || Double.isInfinite(o)) {
                        throw new IllegalArgumentException(what + ".quantization.offset must be "
                                + "finite, got " + o);
                    }
                    offset = (float) o;
                }
                if (qm.get("lut") == null) {
                    throw new IllegalArgumentException(what + ".quantization: an int8 input needs "
                            + "\"lut\", the int8 value of each pixel byte (bridges must feed the table)");
                }
                List<Object> l = Json.getList(qm, "lut", what + ".quantization.lut");
                if (l.size() != 256) {
                    throw new IllegalArgumentException(what + ".quantization.lut must have 256 "
                            + "entries, got " + l.size());
                }
                lut = new byte[256];
                for (int i = 0; i < 256; i++) {
                    int v = Json.asInt(l.get(i), what + ".quantization.lut[" + i + "]");
                    if (v < -128 || v > 127) {
                        throw new IllegalArgumentException(what + ".quantization.lut[" + i + "] = "
                                + v + " is outside int8");
                    }
                    lut[i] = (byte) v;
                }
            }
        } else if (q != null) {
            throw new IllegalArgumentException(what + ".quantization: must be null for float32");
        }
        Layout layout = null;
        if (input) {
            String layoutName = Json.getString(m, "layout", what + ".layout");
            try {
                layout = Layout.fromJson(layoutName);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(what + ".layout: " + e.getMessage(), e);
            }
            int[] want = floatInput(layout).shape;
            if (!java.util.Arrays.equals(shape, want)) {
                throw new IllegalArgumentException(what + ".shape: " + java.util.Arrays.toString(shape)
                        + " is not the " + layout + " input shape " + java.util.Arrays.toString(want));
            }
        } else {
            if (elementCountOf(shape) != Spec.EMBEDDING_DIM) {
                throw new IllegalArgumentException(what + ".shape: "
                        + java.util.Arrays.toString(shape) + " does not hold " + Spec.EMBEDDING_DIM
                        + " values");
            }
        }
        return new ModelIO(name, shape, dtype, layout, scale, zp, offset, lut);
    }

    private static long elementCountOf(int[] shape) {
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    static List<ModelIO> listFromJson(List<Object> list, boolean input, String what) {
        List<ModelIO> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            out.add(fromJson(list.get(i), input, what + "[" + i + "]"));
        }
        return out;
    }
}

package dev.nhkit.core;

/** Tensor layouts a bundle's model input may use (spec step 4). */
public enum Layout {
    /** {@code [1, 3, 360, 360]}, channel R, G, B: the canonical layout of the tensor digest. */
    NCHW,
    /** {@code [1, 360, 360, 3]}: the same values permuted. */
    NHWC;

    public static Layout fromJson(String name) {
        for (Layout l : values()) {
            if (l.name().equals(name)) {
                return l;
            }
        }
        throw new IllegalArgumentException("layout must be \"NCHW\" or \"NHWC\", got "
                + FloatHex.quote(name));
    }
}

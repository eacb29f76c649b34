package dev.nhkit.core;

/**
 * Spec steps 6-7: embedding -> 96 projections -> bits -> hash, and the fragile mask. These are
 * exact functions of the embedding, so every implementation agrees bit for bit.
 */
public final class Projection {
    private Projection() {}

    /**
     * {@code p[i] = sum_j float64(S[i][j]) * float64(e[j])}, accumulated in binary64 strictly in
     * index order (Java never contracts into a fused multiply-add, and the product of two float32
     * values is exact in binary64 anyway).
     *
     * @throws NhkitException.ModelException when a projection is NaN or infinite (the model
     *     produced NaN or infinity): that is an error, not a bit
     */
    public static double[] project(Seed seed, float[] embedding) throws NhkitException.ModelException {
        if (embedding.length != Spec.EMBEDDING_DIM) {
            throw new IllegalArgumentException("embedding must have " + Spec.EMBEDDING_DIM
                    + " values, got " + embedding.length);
        }
        float[] s = seed.raw();
        double[] p = new double[Spec.HASH_BITS];
        for (int i = 0; i < Spec.HASH_BITS; i++) {
            double acc = 0.0;
            int row = i * Spec.EMBEDDING_DIM;
            for (int j = 0; j < Spec.EMBEDDING_DIM; j++) {
                acc = acc + (double) s[row + j] * (double) embedding[j];
            }
            if (Double.isNaN(acc) || Double.isInfinite(acc)) {
                throw new NhkitException.ModelException(null, "projection " + i + " is " + acc
                        + " (the model produced NaN or infinity)");
            }
            p[i] = acc;
        }
        return p;
    }

    /** bit i = 1 iff {@code p[i] >= 0.0} (so {@code -0.0} gives 1). NaN is an error. */
    public static NeuralHash sign(double[] projections) {
        if (projections.length != Spec.HASH_BITS) {
            throw new IllegalArgumentException("expected " + Spec.HASH_BITS + " projections, got "
                    + projections.length);
        }
        boolean[] bits = new boolean[Spec.HASH_BITS];
        for (int i = 0; i < bits.length; i++) {
            if (Double.isNaN(projections[i])) {
                throw new IllegalArgumentException("projection " + i + " is NaN");
            }
            bits[i] = projections[i] >= 0.0;
        }
        return NeuralHash.fromBits(bits);
    }

    /**
     * Bit i set when {@code |p[i]| < margin}: the bits most likely to flip under fp16, int8 or a
     * re-encode. Same bit order as the hash.
     */
    public static NeuralHash fragileMask(double[] projections, double margin) {
        if (!(margin >= 0.0)) {
            throw new IllegalArgumentException("margin must be >= 0, got " + margin);
        }
        if (projections.length != Spec.HASH_BITS) {
            throw new IllegalArgumentException("expected " + Spec.HASH_BITS + " projections, got "
                    + projections.length);
        }
        boolean[] bits = new boolean[Spec.HASH_BITS];
        for (int i = 0; i < bits.length; i++) {
            bits[i] = Math.abs(projections[i]) < margin;
        }
        return NeuralHash.fromBits(bits);
    }
}

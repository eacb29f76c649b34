package org.tensorflow.lite;

public final class TensorFlowLite {
    private TensorFlowLite() {}

    public static String runtimeVersion() {
        throw new RuntimeException("Stub!");
    }
}

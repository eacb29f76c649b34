package org.tensorflow.lite;

import java.nio.ByteBuffer;

public final class Interpreter implements AutoCloseable {
    public static class Options {
        public Options() {}

        public Options setNumThreads(int numThreads) {
            throw new RuntimeException("Stub!");
        }

        public Options setUseXNNPACK(boolean useXNNPACK) {
            throw new RuntimeException("Stub!");
        }

        public Options setUseNNAPI(boolean useNNAPI) {
            throw new RuntimeException("Stub!");
        }
    }

    public Interpreter(ByteBuffer byteBuffer, Options options) {
        throw new RuntimeException("Stub!");
    }

    public void run(Object input, Object output) {
        throw new RuntimeException("Stub!");
    }

    public int getInputTensorCount() {
        throw new RuntimeException("Stub!");
    }

    public int getOutputTensorCount() {
        throw new RuntimeException("Stub!");
    }

    public Tensor getInputTensor(int inputIndex) {
        throw new RuntimeException("Stub!");
    }

    public Tensor getOutputTensor(int outputIndex) {
        throw new RuntimeException("Stub!");
    }

    @Override
    public void close() {
        throw new RuntimeException("Stub!");
    }
}

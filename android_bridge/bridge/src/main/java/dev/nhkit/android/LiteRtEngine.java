package dev.nhkit.android;

import android.content.res.AssetFileDescriptor;
import android.content.res.AssetManager;

import dev.nhkit.core.BundleManifest;
import dev.nhkit.core.EmbeddingEngine;
import dev.nhkit.core.ModelIO;
import dev.nhkit.core.NhkitException;
import dev.nhkit.core.TensorPacker;

import org.tensorflow.lite.DataType;
import org.tensorflow.lite.Interpreter;
import org.tensorflow.lite.Tensor;
import org.tensorflow.lite.TensorFlowLite;

import java.io.File;
import java.io.FileInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Spec step 5 on Android: a LiteRT {@link Interpreter} on the CPU with the XNNPACK delegate and a
 * fixed thread count, the model memory-mapped from the APK's assets (stored uncompressed) or
 * from a file. Feeds float32 or int8 input in the manifest's layout and reads float32 or int8
 * output, exactly as the bundle manifest describes (checked against the model at load time).
 * Not thread-safe ({@link dev.nhkit.core.HashPipeline} serialises calls).
 */
public final class LiteRtEngine implements EmbeddingEngine {
    /** Default CPU threads: fixed (not "all cores") so timings and reports are comparable. */
    public static final int DEFAULT_THREADS = 2;

    private final Interpreter interpreter;
    private final ModelIO input;
    private final ModelIO output;
    private final ByteBuffer inBuf;
    private final ByteBuffer outBuf;
    private final int threads;
    private final String source;
    private boolean closed;

    private LiteRtEngine(ByteBuffer model, BundleManifest manifest, int threads, String source)
            throws NhkitException.ModelException {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        this.input = manifest.input();
        this.output = manifest.output();
        this.threads = threads;
        this.source = source;
        Interpreter.Options options = new Interpreter.Options()
                .setNumThreads(threads)
                .setUseXNNPACK(true)
                .setUseNNAPI(false);
        Interpreter interp;
        try {
            interp = new Interpreter(model, options);
        } catch (RuntimeException e) {
            throw new NhkitException.ModelException(source, "LiteRT cannot load the model: "
                    + e.getMessage(), e);
        }
        try {
            checkInterface(interp);
        } catch (NhkitException.ModelException e) {
            interp.close();
            throw e;
        }
        this.interpreter = interp;
        this.inBuf = ByteBuffer.allocateDirect(input.byteCount()).order(ByteOrder.nativeOrder());
        this.outBuf = ByteBuffer.allocateDirect(output.byteCount()).order(ByteOrder.nativeOrder());
    }

    /**
     * Memory-maps {@code assetPath} (which must be stored uncompressed: Gradle's
     * {@code androidResources { noCompress += listOf("tflite") }}).
     */
    public static LiteRtEngine fromAsset(AssetManager assets, String assetPath, BundleManifest manifest,
            int threads) throws NhkitException.ModelException {
        return new LiteRtEngine(mapAsset(assets, assetPath), manifest, threads, "assets/" + assetPath);
    }

    /** Memory-maps a model file (e.g. a bundle unpacked into the app's files dir). */
    public static LiteRtEngine fromFile(File modelFile, BundleManifest manifest, int threads)
            throws NhkitException.ModelException {
        return new LiteRtEngine(mapFile(modelFile), manifest, threads, modelFile.getPath());
    }

    static MappedByteBuffer mapAsset(AssetManager assets, String assetPath)
            throws NhkitException.ModelException {
        AssetFileDescriptor afd;
        try {
            afd = assets.openFd(assetPath);
        } catch (FileNotFoundException e) {
            throw new NhkitException.ModelException("assets/" + assetPath, "cannot open the model as "
                    + "a file descriptor; it is missing or stored compressed (add androidResources "
                    + "{ noCompress += listOf(\"tflite\") } to the app's build.gradle.kts): "
                    + e.getMessage(), e);
        } catch (IOException e) {
            throw new NhkitException.ModelException("assets/" + assetPath, "cannot open: "
                    + e.getMessage(), e);
        }
        try (FileInputStream in = new FileInputStream(afd.getFileDescriptor());
                FileChannel ch = in.getChannel()) {
            // The mapping stays valid after the channel and descriptor are closed.
            return ch.map(FileChannel.MapMode.READ_ONLY, afd.getStartOffset(), afd.getDeclaredLength());
        } catch (IOException e) {
            throw new NhkitException.ModelException("assets/" + assetPath, "cannot memory-map: "
                    + e.getMessage(), e);
        } finally {
            try {
                afd.close();
            } catch (IOException ignored) {
                // nothing left to release
            }
        }
    }

    static MappedByteBuffer mapFile(File f) throws NhkitException.ModelException {
        try (RandomAccessFile raf = new RandomAccessFile(f, "r"); FileChannel ch = raf.getChannel()) {
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
        } catch (IOException e) {
            throw new NhkitException.ModelException(f.getPath(), "cannot memory-map: " + e.getMessage(), e);
        }
    }

    /** The model must have the manifest's interface; a mismatch is a packaging error. */
    private void checkInterface(Interpreter interp) throws NhkitException.ModelException {
        if (interp.getInputTensorCount() != 1 || interp.getOutputTensorCount() != 1) {
            throw new NhkitException.ModelException(source, "expected 1 input and 1 output, the "
                    + "model has " + interp.getInputTensorCount() + " and "
                    + interp.getOutputTensorCount());
        }
        check(interp.getInputTensor(0), input, "input");
        check(interp.getOutputTensor(0), output, "output");
    }

    private void check(Tensor t, ModelIO want, String what) throws NhkitException.ModelException {
        int[] shape = t.shape();
        // Exactly, outputs too: a device reads the output as the manifest shapes it.
        if (!Arrays.equals(shape, want.shape)) {
            throw new NhkitException.ModelException(source, field(what) + ".shape: " + what
                    + " shape " + Arrays.toString(shape)
                    + " does not match the manifest's " + Arrays.toString(want.shape));
        }
        DataType dt = t.dataType();
        DataType wantDt = want.dtype == ModelIO.DType.INT8 ? DataType.INT8 : DataType.FLOAT32;
        if (dt != wantDt) {
            throw new NhkitException.ModelException(source, field(what) + ".dtype: " + what
                    + " dtype " + dt
                    + " does not match the manifest's " + want.dtype.jsonName);
        }
        if (want.dtype == ModelIO.DType.INT8) {
            Tensor.QuantizationParams q = t.quantizationParams();
            if (Float.floatToIntBits(q.getScale()) != Float.floatToIntBits(want.scale)
                    || q.getZeroPoint() != want.zeroPoint) {
                throw new NhkitException.ModelException(source, field(what) + ".quantization: " + what
                        + " quantization (scale "
                        + q.getScale() + ", zero point " + q.getZeroPoint() + ") does not match the "
                        + "manifest's (" + want.scale + ", " + want.zeroPoint + ")");
            }
        }
    }

    /** The manifest entry a mismatch of the model's {@code what} tensor is reported under. */
    private static String field(String what) {
        return what.startsWith("input") ? "model.inputs[0]" : "model.outputs[0]";
    }

    @Override
    public float[] embed(float[] nchw) throws NhkitException.ModelException {
        if (closed) {
            throw new IllegalStateException("engine is closed");
        }
        // Buffer casts: ByteBuffer's covariant clear()/rewind() (Java 9+) are missing on older
        // Android releases.
        ((Buffer) inBuf).clear();
        TensorPacker.pack(nchw, input, inBuf);
        ((Buffer) inBuf).rewind();
        ((Buffer) outBuf).clear();
        try {
            interpreter.run(inBuf, outBuf);
        } catch (RuntimeException e) {
            throw new NhkitException.ModelException(source, "inference failed: " + e.getMessage(), e);
        }
        ((Buffer) outBuf).rewind();
        return TensorPacker.unpack(output, outBuf);
    }

    @Override
    public Info info() {
        String version;
        try {
            version = TensorFlowLite.runtimeVersion();
        } catch (RuntimeException | LinkageError e) {
            version = "unknown";
        }
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("input_dtype", input.dtype.jsonName);
        details.put("layout", input.layout.name());
        details.put("output_dtype", output.dtype.jsonName);
        return new Info("litert", version, "xnnpack", threads, details);
    }

    public int threads() {
        return threads;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            interpreter.close();
        }
    }
}

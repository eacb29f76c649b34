package dev.nhkit.jvm;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.nhkit.core.Bundle;
import dev.nhkit.core.EmbeddingEngine;
import dev.nhkit.core.ModelIO;
import dev.nhkit.core.NhkitException;
import dev.nhkit.core.TensorPacker;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Spec step 5 on a JVM (servers, desktops, CI): a TFLite bundle's model run by LiteRT's
 * CompiledModel C API ({@code libLiteRt.so}, see {@link LiteRtLibrary}) through java.lang.foreign,
 * no JNI. The same library and kernels (XNNPACK on the CPU) that ai-edge-litert's Python
 * interpreter uses, fed exactly as the bundle manifest says: float32 or int8 input (int8 through
 * the manifest's per-byte table, {@link TensorPacker}) in the manifest's layout, float32 or int8
 * output (dequantized with the manifest's scale and zero point).
 *
 * <p>At load the model's own signature is checked against the manifest: one signature with one
 * input and one output of the manifest's names, the exact input shape, the output's element
 * count, each dtype, and for int8 the per-tensor scale (bit for bit) and zero point. A mismatch
 * is a {@link NhkitException.ModelException} naming the model file.
 *
 * <p>The model bytes LiteRT runs are the bytes {@link Bundle#open} verified (read once into
 * native memory), so a file swapped after verification cannot be run.
 *
 * <p>Thread-safety: {@link #embed} and {@link #close} are synchronized on the engine (one
 * compiled model, one pair of tensor buffers); for parallel inference open one engine per
 * thread.
 */
public final class LiteRtFfmEngine implements EmbeddingEngine {
    /** Default CPU threads: fixed (not "all cores") so timings and reports are comparable. */
    public static final int DEFAULT_THREADS = 2;
    /** Largest model file read into memory. */
    static final long MAX_MODEL_BYTES = 1L << 30;

    private final LiteRtLibrary lib;
    private final LiteRtCApi c;
    private final Arena arena;
    private final String source;
    private final ModelIO input;
    private final ModelIO output;
    private final int threads;
    private MemorySegment env = MemorySegment.NULL;
    private MemorySegment model = MemorySegment.NULL;
    private MemorySegment options = MemorySegment.NULL;
    private MemorySegment compiled = MemorySegment.NULL;
    private MemorySegment inBuffer = MemorySegment.NULL;
    private MemorySegment outBuffer = MemorySegment.NULL;
    /** One-element arrays of tensor buffer handles, as LiteRtRunCompiledModel takes them. */
    private MemorySegment inArray;
    private MemorySegment outArray;
    private boolean closed;

    private LiteRtFfmEngine(LiteRtLibrary lib, String source, ModelIO input, ModelIO output,
            int threads) {
        this.lib = lib;
        this.c = lib.api();
        this.arena = Arena.ofShared();
        this.source = source;
        this.input = input;
        this.output = output;
        this.threads = threads;
    }

    /** Opens the bundle's model with the library {@link LiteRtLibrary#load()} finds. */
    public static LiteRtFfmEngine open(Bundle bundle, int threads) throws NhkitException {
        return open(bundle, LiteRtLibrary.load(), threads);
    }

    /**
     * Compiles the bundle's model for the CPU with {@code threads} XNNPACK threads.
     *
     * @throws NhkitException.ModelException when the bundle is not a TFLite bundle, LiteRT
     *     rejects the model, or the model's interface differs from the manifest
     */
    public static LiteRtFfmEngine open(Bundle bundle, LiteRtLibrary lib, int threads)
            throws NhkitException {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        String file = bundle.manifest().modelFile;
        String source = bundle.files().describe(file);
        if (!"tflite".equals(bundle.manifest().target)) {
            throw new NhkitException.ModelException(source, "bundle " + bundle.bundleId()
                    + " is a \"" + bundle.manifest().target + "\" bundle; LiteRT runs only "
                    + "\"tflite\" bundles");
        }
        byte[] bytes = Bundle.read(bundle.files(), file, MAX_MODEL_BYTES);
        LiteRtFfmEngine e = new LiteRtFfmEngine(lib, source, bundle.manifest().input(),
                bundle.manifest().output(), threads);
        try {
            e.load(bytes);
            return e;
        } catch (NhkitException | RuntimeException | Error ex) {
            e.close();
            throw ex;
        }
    }

    private void load(byte[] modelBytes) throws NhkitException.ModelException {
        MemorySegment out = arena.allocate(ADDRESS);
        check(call(c.createEnvironment, 0, MemorySegment.NULL, out), "LiteRtCreateEnvironment");
        env = out.get(ADDRESS, 0);

        // The buffer must outlive the model (litert_model.h); the arena owns it.
        MemorySegment buf = arena.allocate(modelBytes.length, LiteRtCApi.HOST_MEMORY_ALIGNMENT);
        MemorySegment.copy(modelBytes, 0, buf, JAVA_BYTE, 0,
                modelBytes.length);
        check(call(c.createModelFromBuffer, env, buf, (long) modelBytes.length, out),
                "LiteRtCreateModelFromBuffer (not a TFLite flatbuffer LiteRT can read?)");
        model = out.get(ADDRESS, 0);

        MemorySegment sizeOut = arena.allocate(JAVA_LONG);
        check(call(c.getNumModelSignatures, model, sizeOut), "LiteRtGetNumModelSignatures");
        long nsig = sizeOut.get(JAVA_LONG, 0);
        if (nsig != 1) {
            throw new NhkitException.ModelException(source, "expected one signature, the model has "
                    + nsig);
        }
        check(call(c.getModelSignature, model, 0L, out), "LiteRtGetModelSignature");
        MemorySegment sig = out.get(ADDRESS, 0);
        check(call(c.getNumSignatureInputs, sig, sizeOut), "LiteRtGetNumSignatureInputs");
        long nin = sizeOut.get(JAVA_LONG, 0);
        check(call(c.getNumSignatureOutputs, sig, sizeOut), "LiteRtGetNumSignatureOutputs");
        long nout = sizeOut.get(JAVA_LONG, 0);
        if (nin != 1 || nout != 1) {
            throw new NhkitException.ModelException(source, "expected 1 input and 1 output, the "
                    + "model's signature has " + nin + " and " + nout);
        }
        check(call(c.getSignatureInputName, sig, 0L, out), "LiteRtGetSignatureInputName");
        checkName("input", cString(out.get(ADDRESS, 0)), input.name);
        check(call(c.getSignatureOutputName, sig, 0L, out), "LiteRtGetSignatureOutputName");
        checkName("output", cString(out.get(ADDRESS, 0)), output.name);

        check(call(c.getSignatureInputTensorByIndex, sig, 0L, out), "LiteRtGetSignatureInputTensorByIndex");
        MemorySegment inType = checkTensor(out.get(ADDRESS, 0), input, "input");
        check(call(c.getSignatureOutputTensorByIndex, sig, 0L, out), "LiteRtGetSignatureOutputTensorByIndex");
        MemorySegment outType = checkTensor(out.get(ADDRESS, 0), output, "output");

        check(call(c.createOptions, out), "LiteRtCreateOptions");
        options = out.get(ADDRESS, 0);
        check(call(c.setOptionsHardwareAccelerators, options, LiteRtCApi.HW_ACCELERATOR_CPU),
                "LiteRtSetOptionsHardwareAccelerators");
        addCpuThreads();
        check(call(c.createCompiledModel, env, model, options, out), "LiteRtCreateCompiledModel");
        compiled = out.get(ADDRESS, 0);

        inBuffer = hostBuffer(inType, input.byteCount(), "input");
        outBuffer = hostBuffer(outType, output.byteCount(), "output");
        inArray = arena.allocate(ADDRESS);
        inArray.set(ADDRESS, 0, inBuffer);
        outArray = arena.allocate(ADDRESS);
        outArray.set(ADDRESS, 0, outBuffer);
    }

    /**
     * The CPU thread count. LiteRT 2.3.0 does not export its {@code LrtCpuOptions} helpers, so the
     * options are built as they build them (litert/c/options/litert_cpu_options.cc): an opaque
     * option with identifier {@code "xnnpack"} whose payload is the TOML text
     * {@code "num_threads = N\n"} in a heap C string, freed by LiteRT with the deleter we pass
     * (libc {@code free}, as we allocate it with {@code malloc}).
     */
    private void addCpuThreads() throws NhkitException.ModelException {
        byte[] toml = ("num_threads = " + threads + "\n").getBytes(StandardCharsets.US_ASCII);
        MemorySegment payload;
        try {
            payload = ((MemorySegment) c.malloc.invoke((long) toml.length + 1)).reinterpret(toml.length + 1);
        } catch (Throwable t) {
            throw new NhkitException.ModelException(source, "malloc failed: " + t);
        }
        MemorySegment.copy(toml, 0, payload, JAVA_BYTE, 0, toml.length);
        payload.set(JAVA_BYTE, toml.length, (byte) 0);
        MemorySegment out = arena.allocate(ADDRESS);
        int st = call(c.createOpaqueOptions, arena.allocateFrom("xnnpack"), payload, c.free, out);
        if (st != LiteRtCApi.STATUS_OK) {
            try {
                c.freeCall.invoke(payload); // not handed over: still ours to free
            } catch (Throwable ignored) {
                // best effort: the process is about to report the failure anyway
            }
            check(st, "LiteRtCreateOpaqueOptions");
        }
        // Ownership of the opaque options (and so of the payload) passes to `options`.
        check(call(c.addOpaqueOptions, options, out.get(ADDRESS, 0)), "LiteRtAddOpaqueOptions");
    }

    private MemorySegment hostBuffer(MemorySegment type, int bytes, String what)
            throws NhkitException.ModelException {
        MemorySegment mem = arena.allocate(bytes, LiteRtCApi.HOST_MEMORY_ALIGNMENT);
        MemorySegment out = arena.allocate(ADDRESS);
        check(call(c.createTensorBufferFromHostMemory, type, mem, (long) bytes, MemorySegment.NULL,
                out), "LiteRtCreateTensorBufferFromHostMemory (" + what + ")");
        return out.get(ADDRESS, 0);
    }

    private void checkName(String what, String got, String want) throws NhkitException.ModelException {
        if (!want.equals(got)) {
            throw new NhkitException.ModelException(source, field(what) + ".name: " + what
                    + " is named \"" + got
                    + "\" in the model's signature, the manifest says \"" + want + "\"");
        }
    }

    /** Compares one tensor with the manifest; returns its LiteRtRankedTensorType (arena-owned). */
    private MemorySegment checkTensor(MemorySegment tensor, ModelIO want, String what)
            throws NhkitException.ModelException {
        MemorySegment intOut = arena.allocate(JAVA_INT);
        check(call(c.getTensorTypeId, tensor, intOut), "LiteRtGetTensorTypeId");
        if (intOut.get(JAVA_INT, 0) != LiteRtCApi.RANKED_TENSOR_TYPE) {
            throw new NhkitException.ModelException(source, field(what) + ".shape: " + what
                    + " tensor has no fixed rank");
        }
        MemorySegment type = arena.allocate(LiteRtCApi.RANKED_TENSOR_TYPE_LAYOUT);
        check(call(c.getRankedTensorType, tensor, type), "LiteRtGetRankedTensorType");
        int elementType = type.get(JAVA_INT, 0);
        int rank = type.get(JAVA_INT, 4) & 0x7f; // bit-field `unsigned rank : 7`, first in its word
        if (rank > LiteRtCApi.MAX_RANK) {
            throw new NhkitException.ModelException(source, what + " rank " + rank + " exceeds "
                    + LiteRtCApi.MAX_RANK + " (struct layout mismatch?)");
        }
        int[] shape = new int[rank];
        for (int i = 0; i < rank; i++) {
            shape[i] = type.get(JAVA_INT, LiteRtCApi.RANKED_DIMENSIONS_OFFSET + 4L * i);
        }
        // Exactly, outputs too: a device reads the output as the manifest shapes it.
        if (!Arrays.equals(shape, want.shape)) {
            throw new NhkitException.ModelException(source, field(what) + ".shape: " + what
                    + " shape " + Arrays.toString(shape)
                    + " does not match the manifest's " + Arrays.toString(want.shape));
        }
        int wantType = want.dtype == ModelIO.DType.INT8 ? LiteRtCApi.ELEMENT_INT8 : LiteRtCApi.ELEMENT_FLOAT32;
        if (elementType != wantType) {
            throw new NhkitException.ModelException(source, field(what) + ".dtype: " + what
                    + " dtype "
                    + LiteRtCApi.elementTypeName(elementType) + " does not match the manifest's "
                    + want.dtype.jsonName);
        }
        check(call(c.getQuantizationTypeId, tensor, intOut), "LiteRtGetQuantizationTypeId");
        int q = intOut.get(JAVA_INT, 0);
        if (want.dtype == ModelIO.DType.INT8) {
            if (q != LiteRtCApi.QUANTIZATION_PER_TENSOR) {
                throw new NhkitException.ModelException(source, field(what) + ".quantization: " + what
                        + " is int8 but not quantized "
                        + "per tensor (quantization type " + q + ")");
            }
            MemorySegment qp = arena.allocate(LiteRtCApi.PER_TENSOR_QUANTIZATION_LAYOUT);
            check(call(c.getPerTensorQuantization, tensor, qp), "LiteRtGetPerTensorQuantization");
            float scale = qp.get(JAVA_FLOAT, 0);
            long zp = qp.get(JAVA_LONG, 8);
            if (Float.floatToIntBits(scale) != Float.floatToIntBits(want.scale) || zp != want.zeroPoint) {
                throw new NhkitException.ModelException(source, field(what) + ".quantization: " + what
                        + " quantization (scale "
                        + scale + ", zero point " + zp + ") does not match the manifest's ("
                        + want.scale + ", " + want.zeroPoint + ")");
            }
        } else if (q != LiteRtCApi.QUANTIZATION_NONE) {
            throw new NhkitException.ModelException(source, field(what) + ".quantization: " + what
                    + " is float32 but carries "
                    + "quantization (type " + q + "); the manifest says none");
        }
        return type;
    }

    /** The manifest entry a mismatch of the model's {@code what} tensor is reported under. */
    private static String field(String what) {
        return what.startsWith("input") ? "model.inputs[0]" : "model.outputs[0]";
    }

    @Override
    public synchronized float[] embed(float[] nchw) throws NhkitException.ModelException {
        if (closed) {
            throw new IllegalStateException("engine is closed");
        }
        ByteBuffer in = lock(inBuffer, LiteRtCApi.LOCK_MODE_WRITE, input.byteCount());
        try {
            TensorPacker.pack(nchw, input, in);
        } finally {
            unlock(inBuffer);
        }
        int st;
        try {
            st = (int) c.runCompiledModel.invokeExact(compiled, 0L, 1L, inArray, 1L, outArray);
        } catch (Throwable t) {
            throw new NhkitException.ModelException(source, "LiteRtRunCompiledModel failed: " + t, t);
        }
        check(st, "LiteRtRunCompiledModel");
        ByteBuffer out = lock(outBuffer, LiteRtCApi.LOCK_MODE_READ, output.byteCount());
        try {
            return TensorPacker.unpack(output, out);
        } finally {
            unlock(outBuffer);
        }
    }

    private ByteBuffer lock(MemorySegment buffer, int mode, int bytes) throws NhkitException.ModelException {
        MemorySegment out = arena.allocate(ADDRESS);
        check(call(c.lockTensorBuffer, buffer, out, mode), "LiteRtLockTensorBuffer");
        return out.get(ADDRESS, 0).reinterpret(bytes).asByteBuffer().order(ByteOrder.nativeOrder());
    }

    private void unlock(MemorySegment buffer) throws NhkitException.ModelException {
        check(call(c.unlockTensorBuffer, buffer), "LiteRtUnlockTensorBuffer");
    }

    @Override
    public Info info() {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("input_dtype", input.dtype.jsonName);
        details.put("layout", input.layout.name());
        details.put("output_dtype", output.dtype.jsonName);
        details.put("api", "LiteRT CompiledModel C API via java.lang.foreign");
        details.put("library", lib.path().toString());
        details.put("jvm", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        return new Info("litert", lib.version(), "xnnpack", threads, details);
    }

    public int threads() {
        return threads;
    }

    /** Releases LiteRT's objects and the native memory; idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            destroy(c.destroyTensorBuffer, outBuffer);
            destroy(c.destroyTensorBuffer, inBuffer);
            destroy(c.destroyCompiledModel, compiled);
            destroy(c.destroyOptions, options);
            destroy(c.destroyModel, model);
            destroy(c.destroyEnvironment, env);
        } finally {
            arena.close();
        }
    }

    private static void destroy(MethodHandle h, MemorySegment handle) {
        if (handle == null || handle.equals(MemorySegment.NULL)) {
            return;
        }
        try {
            h.invoke(handle);
        } catch (Throwable t) {
            throw new IllegalStateException("LiteRT destroy call failed", t);
        }
    }

    private static int call(MethodHandle h, Object... args) {
        try {
            return (int) h.invokeWithArguments(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private void check(int status, String what) throws NhkitException.ModelException {
        if (status != LiteRtCApi.STATUS_OK) {
            throw new NhkitException.ModelException(source, what + " returned "
                    + LiteRtCApi.statusName(status));
        }
    }

    private static String cString(MemorySegment p) {
        return p.equals(MemorySegment.NULL) ? null : p.reinterpret(Long.MAX_VALUE).getString(0);
    }
}

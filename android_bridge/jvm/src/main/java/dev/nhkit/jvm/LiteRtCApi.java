package dev.nhkit.jvm;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The part of LiteRT's CompiledModel C API that nhkit uses, declared for java.lang.foreign.
 *
 * <p>Pinned to LiteRT {@value LiteRtLibrary#PINNED_VERSION} (the {@code ai-edge-litert} wheel's
 * {@code libLiteRt.so}). The declarations follow the headers {@code litert/c/litert_common.h},
 * {@code litert_model_types.h}, {@code litert_layout.h}, {@code litert_environment.h},
 * {@code litert_model.h}, {@code litert_options.h}, {@code litert_opaque_options.h},
 * {@code litert_compiled_model.h}, {@code litert_tensor_buffer.h} of google-ai-edge/LiteRT at
 * commit f67457790 (2026-08-21; {@code litert/version.bzl}: {@code LITERT_EXPERIMENTAL_VERSION =
 * "2.3.0"}, set by 19a1585ff on 2026-08-14); the functions below are unchanged there since tag
 * v2.2.0 (checked with git diff). No 2.3.0 tag exists in that repository, hence the commit. Every
 * symbol is checked to be exported when the library loads ({@link #bind}); the struct sizes are
 * the headers' own {@code static_assert}s.
 *
 * <p>Types on LP64 Linux: handles and pointers are {@code ADDRESS}; {@code LiteRtParamIndex}
 * ({@code size_t}) is {@code JAVA_LONG}; {@code LiteRtStatus} and the other enums are
 * {@code JAVA_INT}.
 */
final class LiteRtCApi {
    // litert_common.h
    static final int STATUS_OK = 0;
    static final int HW_ACCELERATOR_CPU = 1;
    static final int LOCK_MODE_READ = 0;
    static final int LOCK_MODE_WRITE = 1;
    /** LITERT_HOST_MEMORY_BUFFER_ALIGNMENT (litert_tensor_buffer_types.h). */
    static final long HOST_MEMORY_ALIGNMENT = 64;
    // litert_model_types.h
    static final int ELEMENT_FLOAT32 = 1;
    static final int ELEMENT_INT8 = 9;
    static final int RANKED_TENSOR_TYPE = 0;
    static final int QUANTIZATION_NONE = 0;
    static final int QUANTIZATION_PER_TENSOR = 1;
    /** LITERT_TENSOR_MAX_RANK (litert_layout.h). */
    static final int MAX_RANK = 8;

    /**
     * {@code LiteRtRankedTensorType}: {@code {LiteRtElementType element_type; LiteRtLayout
     * layout;}} with {@code LiteRtLayout = {unsigned rank:7, has_strides:1; int32_t
     * dimensions[8]; uint32_t strides[8];}}. static_assert: size 72, layout at 4, dimensions at
     * 4 + 4, strides at 4 + 36.
     */
    static final StructLayout RANKED_TENSOR_TYPE_LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("element_type"),
            JAVA_INT.withName("rank_and_has_strides"),
            MemoryLayout.sequenceLayout(MAX_RANK, JAVA_INT).withName("dimensions"),
            MemoryLayout.sequenceLayout(MAX_RANK, JAVA_INT).withName("strides"));
    static final long RANKED_DIMENSIONS_OFFSET = 8;

    /** {@code LiteRtQuantizationPerTensor}: {@code {float scale; int64_t zero_point;}}, 16 bytes. */
    static final StructLayout PER_TENSOR_QUANTIZATION_LAYOUT = MemoryLayout.structLayout(
            JAVA_FLOAT.withName("scale"),
            MemoryLayout.paddingLayout(4),
            JAVA_LONG.withName("zero_point"));

    static {
        if (RANKED_TENSOR_TYPE_LAYOUT.byteSize() != 72 || PER_TENSOR_QUANTIZATION_LAYOUT.byteSize() != 16) {
            throw new AssertionError("LiteRT struct layouts do not match the headers' static_asserts");
        }
    }

    // environment
    final MethodHandle createEnvironment;
    final MethodHandle destroyEnvironment;
    // model
    final MethodHandle createModelFromBuffer;
    final MethodHandle destroyModel;
    final MethodHandle getNumModelSignatures;
    final MethodHandle getModelSignature;
    final MethodHandle getSignatureKey;
    final MethodHandle getNumSignatureInputs;
    final MethodHandle getNumSignatureOutputs;
    final MethodHandle getSignatureInputName;
    final MethodHandle getSignatureOutputName;
    final MethodHandle getSignatureInputTensorByIndex;
    final MethodHandle getSignatureOutputTensorByIndex;
    final MethodHandle getTensorTypeId;
    final MethodHandle getRankedTensorType;
    final MethodHandle getQuantizationTypeId;
    final MethodHandle getPerTensorQuantization;
    // options
    final MethodHandle createOptions;
    final MethodHandle destroyOptions;
    final MethodHandle setOptionsHardwareAccelerators;
    final MethodHandle createOpaqueOptions;
    final MethodHandle addOpaqueOptions;
    // compiled model
    final MethodHandle createCompiledModel;
    final MethodHandle destroyCompiledModel;
    final MethodHandle runCompiledModel;
    // tensor buffers
    final MethodHandle createTensorBufferFromHostMemory;
    final MethodHandle destroyTensorBuffer;
    final MethodHandle lockTensorBuffer;
    final MethodHandle unlockTensorBuffer;
    // libc, for the opaque options payload that LiteRT frees with the deleter we pass
    final MethodHandle malloc;
    /** libc {@code free}: as a function pointer (the payload deleter) and as a callable. */
    final MemorySegment free;
    final MethodHandle freeCall;

    private final SymbolLookup lookup;
    private final Linker linker = Linker.nativeLinker();
    private final List<String> missing = new ArrayList<>();

    private LiteRtCApi(SymbolLookup lookup) {
        this.lookup = lookup;
        createEnvironment = fn("LiteRtCreateEnvironment", JAVA_INT, ADDRESS, ADDRESS);
        destroyEnvironment = proc("LiteRtDestroyEnvironment", ADDRESS);
        createModelFromBuffer = fn("LiteRtCreateModelFromBuffer", ADDRESS, ADDRESS, JAVA_LONG, ADDRESS);
        destroyModel = proc("LiteRtDestroyModel", ADDRESS);
        getNumModelSignatures = fn("LiteRtGetNumModelSignatures", ADDRESS, ADDRESS);
        getModelSignature = fn("LiteRtGetModelSignature", ADDRESS, JAVA_LONG, ADDRESS);
        getSignatureKey = fn("LiteRtGetSignatureKey", ADDRESS, ADDRESS);
        getNumSignatureInputs = fn("LiteRtGetNumSignatureInputs", ADDRESS, ADDRESS);
        getNumSignatureOutputs = fn("LiteRtGetNumSignatureOutputs", ADDRESS, ADDRESS);
        getSignatureInputName = fn("LiteRtGetSignatureInputName", ADDRESS, JAVA_LONG, ADDRESS);
        getSignatureOutputName = fn("LiteRtGetSignatureOutputName", ADDRESS, JAVA_LONG, ADDRESS);
        getSignatureInputTensorByIndex = fn("LiteRtGetSignatureInputTensorByIndex", ADDRESS, JAVA_LONG,
                ADDRESS);
        getSignatureOutputTensorByIndex = fn("LiteRtGetSignatureOutputTensorByIndex", ADDRESS,
                JAVA_LONG, ADDRESS);
        getTensorTypeId = fn("LiteRtGetTensorTypeId", ADDRESS, ADDRESS);
        getRankedTensorType = fn("LiteRtGetRankedTensorType", ADDRESS, ADDRESS);
        getQuantizationTypeId = fn("LiteRtGetQuantizationTypeId", ADDRESS, ADDRESS);
        getPerTensorQuantization = fn("LiteRtGetPerTensorQuantization", ADDRESS, ADDRESS);
        createOptions = fn("LiteRtCreateOptions", ADDRESS);
        destroyOptions = proc("LiteRtDestroyOptions", ADDRESS);
        setOptionsHardwareAccelerators = fn("LiteRtSetOptionsHardwareAccelerators", ADDRESS, JAVA_INT);
        createOpaqueOptions = fn("LiteRtCreateOpaqueOptions", ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        addOpaqueOptions = fn("LiteRtAddOpaqueOptions", ADDRESS, ADDRESS);
        createCompiledModel = fn("LiteRtCreateCompiledModel", ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        destroyCompiledModel = proc("LiteRtDestroyCompiledModel", ADDRESS);
        runCompiledModel = fn("LiteRtRunCompiledModel", ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS,
                JAVA_LONG, ADDRESS);
        createTensorBufferFromHostMemory = fn("LiteRtCreateTensorBufferFromHostMemory", ADDRESS,
                ADDRESS, JAVA_LONG, ADDRESS, ADDRESS);
        destroyTensorBuffer = proc("LiteRtDestroyTensorBuffer", ADDRESS);
        lockTensorBuffer = fn("LiteRtLockTensorBuffer", ADDRESS, ADDRESS, JAVA_INT);
        unlockTensorBuffer = fn("LiteRtUnlockTensorBuffer", ADDRESS);
        SymbolLookup libc = linker.defaultLookup();
        malloc = linker.downcallHandle(libc.find("malloc").orElseThrow(),
                FunctionDescriptor.of(ADDRESS, JAVA_LONG));
        free = libc.find("free").orElseThrow();
        freeCall = linker.downcallHandle(free, FunctionDescriptor.ofVoid(ADDRESS));
    }

    /** Binds every declaration; a missing symbol means another LiteRT build, so refuse. */
    static LiteRtCApi bind(SymbolLookup lookup, Path file) throws LiteRtLibrary.LiteRtUnavailableException {
        LiteRtCApi api = new LiteRtCApi(lookup);
        if (!api.missing.isEmpty()) {
            throw new LiteRtLibrary.LiteRtUnavailableException(file + " does not export "
                    + String.join(", ", api.missing) + ": not the LiteRT "
                    + LiteRtLibrary.PINNED_VERSION + " CompiledModel C API nhkit is declared against");
        }
        return api;
    }

    /** A function returning {@code LiteRtStatus}. */
    private MethodHandle fn(String name, MemoryLayout... args) {
        return bindSymbol(name, FunctionDescriptor.of(JAVA_INT, args));
    }

    /** A {@code void} function. */
    private MethodHandle proc(String name, MemoryLayout... args) {
        return bindSymbol(name, FunctionDescriptor.ofVoid(args));
    }

    private MethodHandle bindSymbol(String name, FunctionDescriptor fd) {
        MemorySegment sym = lookup.find(name).orElse(null);
        if (sym == null) {
            missing.add(name);
            return null;
        }
        return linker.downcallHandle(sym, fd);
    }

    /** The enumerator name of a {@code LiteRtStatus} (litert_common.h), for error messages. */
    static String statusName(int status) {
        switch (status) {
            case 0: return "kLiteRtStatusOk";
            case 1: return "kLiteRtStatusErrorInvalidArgument";
            case 2: return "kLiteRtStatusErrorMemoryAllocationFailure";
            case 3: return "kLiteRtStatusErrorRuntimeFailure";
            case 4: return "kLiteRtStatusErrorMissingInputTensor";
            case 5: return "kLiteRtStatusErrorUnsupported";
            case 6: return "kLiteRtStatusErrorNotFound";
            case 7: return "kLiteRtStatusErrorTimeoutExpired";
            case 8: return "kLiteRtStatusErrorWrongVersion";
            case 9: return "kLiteRtStatusErrorUnknown";
            case 10: return "kLiteRtStatusErrorAlreadyExists";
            case 100: return "kLiteRtStatusCancelled";
            case 500: return "kLiteRtStatusErrorFileIO";
            case 501: return "kLiteRtStatusErrorInvalidFlatbuffer";
            case 502: return "kLiteRtStatusErrorDynamicLoading";
            case 503: return "kLiteRtStatusErrorSerialization";
            case 504: return "kLiteRtStatusErrorCompilation";
            default: return "LiteRtStatus " + status;
        }
    }

    /** {@code LiteRtElementType} names for the element types a bundle may declare or a model have. */
    static String elementTypeName(int t) {
        switch (t) {
            case ELEMENT_FLOAT32: return "float32";
            case ELEMENT_INT8: return "int8";
            case 3: return "uint8";
            case 10: return "float16";
            case 2: return "int32";
            case 7: return "int16";
            default: return "LiteRtElementType " + t;
        }
    }
}

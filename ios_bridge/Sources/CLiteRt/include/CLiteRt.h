// CLiteRt: our own minimal declarations of the LiteRT CompiledModel C API, loaded at run time
// with dlopen/dlsym so the package builds (and its other targets work) without the library.
//
// PINNED to ai-edge-litert 2.3.0: declarations transcribed from google-ai-edge/LiteRT at commit
// f67457790 (2026-08-21, litert/version.bzl LITERT_SDK_*_VERSION = "2.3.0"), headers
// litert/c/litert_{common,layout,model,model_types,options,environment,compiled_model,
// tensor_buffer,tensor_buffer_types}.h. The C API is not ABI-versioned by symbol (every symbol
// is VERS_1.0), and signatures changed between LiteRT releases, so NHLiteRT refuses a library
// whose package version is not 2.3.x (see LiteRTLibrary.swift) and checks every symbol here.
#ifndef NHKIT_CLITERT_H
#define NHKIT_CLITERT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// litert_common.h: enums are C `int`-sized; handles are opaque struct pointers.
typedef int LiteRtStatus;                 // kLiteRtStatusOk = 0
typedef size_t LiteRtParamIndex;
typedef int LiteRtHwAcceleratorSet;       // kLiteRtHwAcceleratorCpu = 1 << 0
typedef int LiteRtTensorBufferLockMode;   // Read = 0, Write = 1, ReadWrite = 2
typedef int LiteRtElementType;            // Float32 = 1, Int8 = 9, Float16 = 10 (litert_model_types.h)
typedef int LiteRtTensorTypeId;           // Ranked = 0, Unranked = 1
typedef int LiteRtQuantizationTypeId;     // None = 0, PerTensor = 1, PerChannel = 2, BlockWise = 3
typedef struct LiteRtEnvironmentT* LiteRtEnvironment;
typedef struct LiteRtModelT* LiteRtModel;
typedef struct LiteRtSignatureT* LiteRtSignature;
typedef struct LiteRtTensorT* LiteRtTensor;
typedef struct LiteRtOptionsT* LiteRtOptions;
typedef struct LiteRtCompiledModelT* LiteRtCompiledModel;
typedef struct LiteRtTensorBufferT* LiteRtTensorBuffer;
typedef void (*LiteRtHostMemoryDeallocator)(void* addr);

// litert_layout.h (LITERT_TENSOR_MAX_RANK 8) and litert_model_types.h.
#define NH_LITERT_MAX_RANK 8
#define NH_LITERT_HOST_MEMORY_ALIGNMENT 64   // LITERT_HOST_MEMORY_BUFFER_ALIGNMENT
typedef struct {
  unsigned int rank : 7;
  unsigned int has_strides : 1;
  int32_t dimensions[NH_LITERT_MAX_RANK];
  uint32_t strides[NH_LITERT_MAX_RANK];
} LiteRtLayout;
typedef struct {
  LiteRtElementType element_type;
  LiteRtLayout layout;
} LiteRtRankedTensorType;
typedef struct {
  float scale;
  int64_t zero_point;
} LiteRtQuantizationPerTensor;

// The same size checks the upstream headers make (on 64-bit targets).
_Static_assert(sizeof(LiteRtRankedTensorType) == 72, "LiteRtRankedTensorType size (LiteRT 2.3.0)");
_Static_assert(offsetof(LiteRtRankedTensorType, layout) == 4, "LiteRtRankedTensorType.layout offset");
_Static_assert(sizeof(LiteRtQuantizationPerTensor) == 16, "LiteRtQuantizationPerTensor size");

/// The functions NHLiteRT calls, resolved from one dlopen'ed library.
typedef struct {
  // litert_environment.h (options: LiteRtEnvOption*, passed as NULL with count 0)
  LiteRtStatus (*CreateEnvironment)(int num_options, const void* options, LiteRtEnvironment* environment);
  void (*DestroyEnvironment)(LiteRtEnvironment environment);
  // litert_model.h
  LiteRtStatus (*CreateModelFromFile)(LiteRtEnvironment environment, const char* filename, LiteRtModel* model);
  void (*DestroyModel)(LiteRtModel model);
  LiteRtStatus (*GetNumModelSignatures)(LiteRtModel model, LiteRtParamIndex* num_signatures);
  LiteRtStatus (*GetModelSignature)(LiteRtModel model, LiteRtParamIndex signature_index, LiteRtSignature* signature);
  LiteRtStatus (*GetNumSignatureInputs)(LiteRtSignature signature, LiteRtParamIndex* num_inputs);
  LiteRtStatus (*GetNumSignatureOutputs)(LiteRtSignature signature, LiteRtParamIndex* num_outputs);
  LiteRtStatus (*GetSignatureInputName)(LiteRtSignature signature, LiteRtParamIndex input_idx, const char** input_name);
  LiteRtStatus (*GetSignatureOutputName)(LiteRtSignature signature, LiteRtParamIndex output_idx, const char** output_name);
  LiteRtStatus (*GetSignatureInputTensorByIndex)(LiteRtSignature signature, LiteRtParamIndex input_idx, LiteRtTensor* tensor);
  LiteRtStatus (*GetSignatureOutputTensorByIndex)(LiteRtSignature signature, LiteRtParamIndex output_idx, LiteRtTensor* tensor);
  LiteRtStatus (*GetTensorTypeId)(LiteRtTensor tensor, LiteRtTensorTypeId* type_id);
  LiteRtStatus (*GetRankedTensorType)(LiteRtTensor tensor, LiteRtRankedTensorType* ranked_tensor_type);
  LiteRtStatus (*GetQuantizationTypeId)(LiteRtTensor tensor, LiteRtQuantizationTypeId* q_type_id);
  LiteRtStatus (*GetPerTensorQuantization)(LiteRtTensor tensor, LiteRtQuantizationPerTensor* per_tensor_quantization);
  // litert_options.h
  LiteRtStatus (*CreateOptions)(LiteRtOptions* options);
  void (*DestroyOptions)(LiteRtOptions options);
  LiteRtStatus (*SetOptionsHardwareAccelerators)(LiteRtOptions options, LiteRtHwAcceleratorSet hardware_accelerators);
  // litert_compiled_model.h
  LiteRtStatus (*CreateCompiledModel)(LiteRtEnvironment environment, LiteRtModel model, LiteRtOptions compilation_options,
                                      LiteRtCompiledModel* compiled_model);
  LiteRtStatus (*RunCompiledModel)(LiteRtCompiledModel compiled_model, LiteRtParamIndex signature_index,
                                   size_t num_input_buffers, LiteRtTensorBuffer* input_buffers,
                                   size_t num_output_buffers, LiteRtTensorBuffer* output_buffers);
  void (*DestroyCompiledModel)(LiteRtCompiledModel compiled_model);
  // litert_tensor_buffer.h
  LiteRtStatus (*CreateTensorBufferFromHostMemory)(const LiteRtRankedTensorType* tensor_type, void* host_buffer_addr,
                                                   size_t host_buffer_size, LiteRtHostMemoryDeallocator deallocator,
                                                   LiteRtTensorBuffer* buffer);
  LiteRtStatus (*LockTensorBuffer)(LiteRtTensorBuffer tensor_buffer, void** host_mem_addr, LiteRtTensorBufferLockMode lock_mode);
  LiteRtStatus (*UnlockTensorBuffer)(LiteRtTensorBuffer buffer);
  void (*DestroyTensorBuffer)(LiteRtTensorBuffer buffer);
} NHLiteRtApi;

/// dlopen()s `path` and resolves every NHLiteRtApi member. Returns 0 on success; otherwise
/// writes a message naming the failing step or symbol into `error` and returns -1 (the library
/// is closed again). `*handle` receives the dlopen handle (never closed on success: LiteRT
/// registers process-wide state).
int nh_litert_load(const char* path, NHLiteRtApi* api, void** handle, char* error, size_t error_size);

/// Accessors for the layout's bit-fields (Swift's importer does not expose them portably).
unsigned int nh_litert_rank(const LiteRtRankedTensorType* type);
/// Fills a ranked type without strides.
void nh_litert_make_type(LiteRtRankedTensorType* type, LiteRtElementType element_type,
                         const int32_t* dimensions, unsigned int rank);

#ifdef __cplusplus
}
#endif
#endif

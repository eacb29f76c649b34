// See include/CLiteRt.h: run-time loading of the LiteRT 2.3.0 CompiledModel C API.
#include "CLiteRt.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int nh_litert_load(const char* path, NHLiteRtApi* api, void** handle, char* error, size_t error_size) {
  memset(api, 0, sizeof(*api));
  *handle = NULL;
  void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    const char* why = dlerror();
    snprintf(error, error_size, "dlopen failed: %s", why ? why : "unknown error");
    return -1;
  }
#define NH_RESOLVE(member, symbol)                                                              \
  do {                                                                                          \
    void* f = dlsym(h, symbol);                                                                 \
    if (f == NULL) {                                                                            \
      snprintf(error, error_size, "symbol %s is missing (NHLiteRT is pinned to the LiteRT 2.3.0 C API)", symbol); \
      dlclose(h);                                                                               \
      memset(api, 0, sizeof(*api));                                                             \
      return -1;                                                                                \
    }                                                                                           \
    memcpy(&api->member, &f, sizeof(f));                                                        \
  } while (0)
  NH_RESOLVE(CreateEnvironment, "LiteRtCreateEnvironment");
  NH_RESOLVE(DestroyEnvironment, "LiteRtDestroyEnvironment");
  NH_RESOLVE(CreateModelFromFile, "LiteRtCreateModelFromFile");
  NH_RESOLVE(DestroyModel, "LiteRtDestroyModel");
  NH_RESOLVE(GetNumModelSignatures, "LiteRtGetNumModelSignatures");
  NH_RESOLVE(GetModelSignature, "LiteRtGetModelSignature");
  NH_RESOLVE(GetNumSignatureInputs, "LiteRtGetNumSignatureInputs");
  NH_RESOLVE(GetNumSignatureOutputs, "LiteRtGetNumSignatureOutputs");
  NH_RESOLVE(GetSignatureInputName, "LiteRtGetSignatureInputName");
  NH_RESOLVE(GetSignatureOutputName, "LiteRtGetSignatureOutputName");
  NH_RESOLVE(GetSignatureInputTensorByIndex, "LiteRtGetSignatureInputTensorByIndex");
  NH_RESOLVE(GetSignatureOutputTensorByIndex, "LiteRtGetSignatureOutputTensorByIndex");
  NH_RESOLVE(GetTensorTypeId, "LiteRtGetTensorTypeId");
  NH_RESOLVE(GetRankedTensorType, "LiteRtGetRankedTensorType");
  NH_RESOLVE(GetQuantizationTypeId, "LiteRtGetQuantizationTypeId");
  NH_RESOLVE(GetPerTensorQuantization, "LiteRtGetPerTensorQuantization");
  NH_RESOLVE(CreateOptions, "LiteRtCreateOptions");
  NH_RESOLVE(DestroyOptions, "LiteRtDestroyOptions");
  NH_RESOLVE(SetOptionsHardwareAccelerators, "LiteRtSetOptionsHardwareAccelerators");
  NH_RESOLVE(CreateCompiledModel, "LiteRtCreateCompiledModel");
  NH_RESOLVE(RunCompiledModel, "LiteRtRunCompiledModel");
  NH_RESOLVE(DestroyCompiledModel, "LiteRtDestroyCompiledModel");
  NH_RESOLVE(CreateTensorBufferFromHostMemory, "LiteRtCreateTensorBufferFromHostMemory");
  NH_RESOLVE(LockTensorBuffer, "LiteRtLockTensorBuffer");
  NH_RESOLVE(UnlockTensorBuffer, "LiteRtUnlockTensorBuffer");
  NH_RESOLVE(DestroyTensorBuffer, "LiteRtDestroyTensorBuffer");
#undef NH_RESOLVE
  *handle = h;
  return 0;
}

unsigned int nh_litert_rank(const LiteRtRankedTensorType* type) { return type->layout.rank; }

void nh_litert_make_type(LiteRtRankedTensorType* type, LiteRtElementType element_type,
                         const int32_t* dimensions, unsigned int rank) {
  memset(type, 0, sizeof(*type));
  type->element_type = element_type;
  type->layout.rank = rank & 0x7f;
  type->layout.has_strides = 0;
  for (unsigned int i = 0; i < rank && i < NH_LITERT_MAX_RANK; i++) type->layout.dimensions[i] = dimensions[i];
}

// Checks of CUDA, cuBLAS(Lt) and cuDNN return codes: every call is checked, and a failure throws
// wan::Error with the file, line, the call and the library's own message.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>

#include "core/error.h"

#define WAN_CUDA_CHECK(call)                                                                       \
  do {                                                                                             \
    const cudaError_t wan_err_ = (call);                                                           \
    if (wan_err_ != cudaSuccess)                                                                   \
      ::wan::fail(__FILE__, ":", __LINE__, ": ", #call, " failed: ", cudaGetErrorString(wan_err_)); \
  } while (0)

#define WAN_CUBLAS_CHECK(call)                                                                            \
  do {                                                                                                    \
    const cublasStatus_t wan_st_ = (call);                                                                \
    if (wan_st_ != CUBLAS_STATUS_SUCCESS)                                                                 \
      ::wan::fail(__FILE__, ":", __LINE__, ": ", #call, " failed: ", cublasLtGetStatusString(wan_st_));  \
  } while (0)

// After a kernel launch: the launch error, if any.
#define WAN_CUDA_CHECK_LAUNCH() WAN_CUDA_CHECK(cudaGetLastError())

// Checks of cuDNN return codes, with cuDNN's own explanation of the last error.
#pragma once

#include <cudnn.h>

#include "core/error.h"

namespace wan::cuda {
// The process's cuDNN handle, on the backend's stream (created on first use).
cudnnHandle_t cudnn_handle();

inline std::string cudnn_last_error() {
  char buf[1024] = {};
  cudnnGetLastErrorString(buf, sizeof buf);
  return buf;
}
}  // namespace wan::cuda

#define WAN_CUDNN_CHECK(call)                                                                        \
  do {                                                                                               \
    const cudnnStatus_t wan_st_ = (call);                                                            \
    if (wan_st_ != CUDNN_STATUS_SUCCESS)                                                             \
      ::wan::fail(__FILE__, ":", __LINE__, ": ", #call, " failed: ", cudnnGetErrorString(wan_st_), " ", \
                  ::wan::cuda::cudnn_last_error());                                                  \
  } while (0)

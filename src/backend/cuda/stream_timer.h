// The fastest of several runs of some GPU work on the backend's stream, in milliseconds (CUDA
// events around each run): how the ops choose among their libraries' candidate algorithms.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <limits>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_context.h"

namespace wan::cuda {

template <typename F>
float fastest_ms(int runs, F&& work) {
  cudaEvent_t a, b;
  WAN_CUDA_CHECK(cudaEventCreate(&a));
  WAN_CUDA_CHECK(cudaEventCreate(&b));
  float fastest = std::numeric_limits<float>::max();
  for (int r = 0; r < runs; ++r) {
    WAN_CUDA_CHECK(cudaEventRecord(a, context().stream));
    work();
    WAN_CUDA_CHECK(cudaEventRecord(b, context().stream));
    WAN_CUDA_CHECK(cudaEventSynchronize(b));
    float ms = 0;
    WAN_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
    fastest = std::min(fastest, ms);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return fastest;
}

}  // namespace wan::cuda

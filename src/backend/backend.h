// Where tensors live and how they move, without CUDA headers: the rest of the code (models, tools)
// uses this; the CUDA side is in backend/cuda/.
#pragma once

#include "core/tensor.h"

namespace wan {

// True when this build has the CUDA backend and a usable GPU is present.
bool cuda_available();
// A one-line description of the GPU ("NVIDIA H100 80GB HBM3, 132 SMs, 79.1 GiB"), or why there is none.
std::string cuda_device_summary();

// A contiguous copy of `t` on `device` (t itself when it is already there and contiguous).
Tensor to_device(const Tensor& t, Device device);
// An uninitialised tensor on `device`.
Tensor empty_on(const Shape& shape, DType dtype, Device device);
// Waits for all queued GPU work (no-op without CUDA).
void device_synchronize();

}  // namespace wan

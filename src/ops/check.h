// Argument checks shared by the op front ends.
#pragma once

#include <string>

#include "core/tensor.h"

namespace wan::ops {

// Fails unless t is defined, on the CPU, of dtype f32 (the CPU reference's compute dtype).
void check_cpu_f32(const Tensor& t, const char* op, const char* arg);
// Fails unless t has exactly `ndim` dimensions.
void check_dim(const Tensor& t, int64_t ndim, const char* op, const char* arg);
// Fails unless the last dimension is contiguous (stride 1).
void check_last_contiguous(const Tensor& t, const char* op, const char* arg);

}  // namespace wan::ops

// The CUDA implementations of the ops, called by the op front ends (src/ops/*.cpp) after they
// validated the arguments; they run on the backend's stream and do not synchronise.
#pragma once

#include "core/tensor.h"
#include "ops/linear.h"

namespace wan::ops::cuda {

// y2d [M, N] = act(x2d [M, K] · weight [N, K]ᵀ + bias [N]): bf16 operands and output, fp32
// accumulation, through cuBLASLt with the bias and GELU-tanh epilogues.
void linear(const Tensor& x2d, const Tensor& weight, const Tensor& bias, Activation act, Tensor& y2d);

}  // namespace wan::ops::cuda

// Pointwise activations, f32 in and out.
//
// gelu_tanh: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))  (nn.GELU(approximate='tanh'))
// silu:      x·sigmoid(x)                                   (nn.SiLU); also on CUDA (bf16/f32; the output keeps a dense x's layout)
#pragma once

#include "core/tensor.h"

namespace wan::ops {

Tensor gelu_tanh(const Tensor& x);
Tensor silu(const Tensor& x);

// The scalar forms, shared by the ops above and the linear epilogue.
float gelu_tanh_scalar(float x);
float silu_scalar(float x);

}  // namespace wan::ops

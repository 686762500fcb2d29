// linear: y = act(x · Wᵀ + b), PyTorch's nn.Linear followed by an optional activation.
//
//   x      [..., in]   f32 (CPU reference)
//   weight [out, in]   f32
//   bias   [out]       f32, or an undefined Tensor for none
//   y      [..., out]  f32
// The activation is the epilogue the CUDA path fuses into the matrix product (cuBLASLt epilogues);
// on the CPU it is applied after the bias. Accumulation is in double, so the reference is at least
// as exact as the official fp32 matmul.
// On CUDA: x, weight and bias contiguous bf16 GPU tensors, y bf16, fp32 accumulation (the official
// code's autocast bf16 linears); activations None and GeluTanh. Or, for small inputs such as the
// time embedding: x f32, weight and bias bf16 or f32, y f32, f32 arithmetic; None and SiLU.
// With f32 weights, more than 16 rows and no activation (the VAE's 1x1 projections) the product
// runs on cuBLASLt in TF32 with f32 accumulation.
#pragma once

#include "core/tensor.h"

namespace wan::ops {

enum class Activation { None, GeluTanh, SiLU };

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Activation act = Activation::None);
// The same product written into `out` (CUDA, bf16 x and weight: a contiguous bf16 tensor of the
// result's shape, e.g. a slice of rows of a larger buffer) instead of a new tensor.
void linear_into(const Tensor& x, const Tensor& weight, const Tensor& bias, Activation act, Tensor& out);

}  // namespace wan::ops

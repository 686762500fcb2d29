// linear in FP8 E4M3 (issue 8): y = act(x · Wᵀ + b) with x and W quantised to E4M3, one scale per
// row of each (x per token, W per output channel; ops/quantize.h), fp32 accumulation.
//
//   x      [..., in]  bf16 on CUDA (quantised per row here), f32 on the CPU
//   weight Fp8Matrix: values [out, in] E4M3, scales [out] (or [1]) f32, on x's device
//   bias   [out]      bf16 on CUDA, f32 on the CPU, or undefined
//   y      [..., out] bf16 on CUDA, f32 on the CPU
// The CPU path is the specification: x quantised per row by quantize_fp8, both operands
// dequantised to f32 and multiplied by the f32 reference linear (double accumulation), so it
// differs from the GPU only by the order of the fp32 sums and the GPU's bf16 output. The GPU runs
// cuBLASLt's FP8 product with outer-vector scales (ops/cuda/linear_fp8.cpp); in (K) must be a
// multiple of 16 (FP8 tensor cores), out a multiple of 8.
// linear_fp8 takes an already quantised x: per-row scales [M] or one [1], and the weight's scales
// of the same kind (a [1] scale next to a per-row one is widened).
#pragma once

#include "core/tensor.h"
#include "ops/linear.h"
#include "ops/quantize.h"

namespace wan::ops {

Tensor linear(const Tensor& x, const Fp8Matrix& weight, const Tensor& bias, Activation act = Activation::None);
Tensor linear_fp8(const Fp8Matrix& x2d, const Fp8Matrix& weight, const Tensor& bias, Activation act = Activation::None);
// The GPU product written into `out` (a contiguous bf16 GPU tensor of M x out values, e.g. a slice
// of rows of a larger buffer) instead of a new tensor.
void linear_fp8_into(const Fp8Matrix& x2d, const Fp8Matrix& weight, const Tensor& bias, Activation act, Tensor& out);

}  // namespace wan::ops

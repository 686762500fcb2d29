// FP8 E4M3 quantisation of a matrix (weights [N, K] or activations [M, K]): E4M3 values and f32
// scales with w ≈ q · scale.
//   per_row:    one scale per output channel (row n): scale_n = max_k |w[n, k]| / 448, the
//               largest finite E4M3 value; an all-zero row gets scale 1.
//   per_tensor: one scale for the matrix: max |w| / 448.
// Values are rounded to nearest even in E4M3 (core/float_formats.h, torch's float8_e4m3fn), so
// the relative rounding error of a normal value is at most 2^-4. dequantize_fp8 gives q · scale
// in f32: the weights an FP8 product computes with, for measuring what FP8 costs in accuracy.
// On CUDA: a contiguous bf16 GPU matrix (rows may be strided: a row stride >= K) gives values and
// scales on the GPU, equal bit for bit to the CPU's on the same values (ops/cuda/fp8_kernels.cu);
// non-finite inputs are not checked there (they saturate to ±448). dequantize_fp8 is CPU only.
#pragma once

#include "core/tensor.h"

namespace wan::ops {

enum class Fp8Scaling { PerRow, PerTensor };

struct Fp8Matrix {
  bool defined() const { return values.defined(); }
  Tensor values;  // F8_E4M3 [N, K]
  Tensor scales;  // F32 [N] (per row) or [1] (per tensor)
};

Fp8Matrix quantize_fp8(const Tensor& weight, Fp8Scaling scaling);
Tensor dequantize_fp8(const Fp8Matrix& q);

}  // namespace wan::ops

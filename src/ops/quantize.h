// FP8 E4M3 quantisation of weights (issue 8's first step): a matrix [N, K] becomes E4M3 values
// and f32 scales with w ≈ q · scale.
//   per_row:    one scale per output channel (row n): scale_n = max_k |w[n, k]| / 448, the
//               largest finite E4M3 value; an all-zero row gets scale 1.
//   per_tensor: one scale for the matrix: max |w| / 448.
// Values are rounded to nearest even in E4M3 (core/float_formats.h, torch's float8_e4m3fn), so
// the relative rounding error of a normal value is at most 2^-4. dequantize_fp8 gives q · scale
// in f32: the weights an FP8 product computes with, for measuring what FP8 costs in accuracy.
#pragma once

#include "core/tensor.h"

namespace wan::ops {

enum class Fp8Scaling { PerRow, PerTensor };

struct Fp8Weight {
  Tensor values;  // F8_E4M3 [N, K]
  Tensor scales;  // F32 [N] (per row) or [1] (per tensor)
};

Fp8Weight quantize_fp8(const Tensor& weight, Fp8Scaling scaling);
Tensor dequantize_fp8(const Fp8Weight& q);

}  // namespace wan::ops

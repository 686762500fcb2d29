// Normalisations over the last dimension.
//
// layer_norm: y = (x − mean) / sqrt(var + eps) · weight + bias, biased variance; weight and bias
//   optional (undefined Tensors), as nn.LayerNorm with and without elementwise_affine. The official
//   WanLayerNorm runs it on x.float() (wan/modules/model.py WanLayerNorm.forward).
// rms_norm: y = x · rsqrt(mean(x²) + eps) · weight over the full last dimension (WanRMSNorm: over
//   all heads together, before the head split; eps 1e-6 as the model passes it).
//   x [..., D] f32, weight/bias [D] f32, y [..., D] f32; statistics in double.
#pragma once

#include "core/tensor.h"

namespace wan::ops {

Tensor layer_norm(const Tensor& x, double eps, const Tensor& weight = {}, const Tensor& bias = {});
Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps);

}  // namespace wan::ops

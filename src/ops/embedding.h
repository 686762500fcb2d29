// sinusoidal_embedding: the DiT's timestep embedding (wan/modules/model.py sinusoidal_embedding_1d).
//
//   t [N] f32 (timestep values) -> [N, dim] f32, dim even, half = dim / 2:
//   out[n, j] = cos(t_n · 10000^(−j/half)), out[n, half + j] = sin(t_n · 10000^(−j/half)), j < half
// computed in float64 as the official code does (cos half first; the exponent divides by half,
// not half − 1), then rounded to float32.
#pragma once

#include "core/tensor.h"

namespace wan::ops {

Tensor sinusoidal_embedding(const Tensor& t, int64_t dim);

}  // namespace wan::ops

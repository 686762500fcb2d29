// embedding_lookup: rows of a table by index (nn.Embedding): ids [...] i64 (or i32), table [V, D]
//   f32 -> [..., D] f32; every id must be in [0, V).
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
Tensor embedding_lookup(const Tensor& ids, const Tensor& table);

}  // namespace wan::ops

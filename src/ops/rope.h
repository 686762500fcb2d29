// The DiT's 3-D rotary position embedding (wan/modules/model.py rope_params, rope_apply, and the
// `freqs` table built in WanModel.__init__).
//
// head_dim d, c = d/2 complex slots split [c − 2·(c/3), c/3, c/3] over (frame, height, width):
// 22/21/21 for d = 128. Axis table for dim_axis a: angle(p, i) = p · 10000^(−2i/a), i < a/2, in
// float64, p < max_pos (1024). Element j of a head vector pairs with j's neighbour: complex slot s
// is (x[2s], x[2s+1]) (interleaved, not half-split), multiplied by
// exp(i·angle) of [frame(f, 0..21), height(h, 0..20), width(w, 0..20)] for the token at grid
// position (f, h, w) in row-major (f, h, w) order. The product is done in float64 and rounded to
// float32. Tokens past F·H·W (padding up to seq_len) are left unrotated.
#pragma once

#include <array>
#include <vector>

#include "core/tensor.h"

namespace wan::ops {

using Grid3 = std::array<int64_t, 3>;  // (F, H, W) token grid of one sample

struct RopeTable {
  int64_t head_dim = 0;
  int64_t max_pos = 0;
  std::array<int64_t, 3> slots{};  // complex slots per axis (22, 21, 21 for head_dim 128)
  Tensor cos;                      // [max_pos, head_dim / 2] f64, axis tables side by side
  Tensor sin;                      // [max_pos, head_dim / 2] f64
  // f32 copies on the GPU, made on first CUDA use.
  mutable Tensor device_cos, device_sin;
};

RopeTable rope_table_3d(int64_t head_dim, int64_t max_pos = 1024, double theta = 10000.0);

// x [B, L, H, head_dim] f32 -> rotated copy; grids.size() == B. Row l of x is token
// first_token + l of its sample (a slice of the sequence, as Ulysses gives each GPU; so the grid
// may hold more tokens than x has rows).
Tensor rope_apply_3d(const Tensor& x, const std::vector<Grid3>& grids, const RopeTable& table, int64_t first_token = 0);

}  // namespace wan::ops

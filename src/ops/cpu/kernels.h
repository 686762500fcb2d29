// The CPU reference kernels. Called by the op front ends (src/ops/*.cpp) after they validated the
// arguments against the contracts in src/ops/*.h; inputs are CPU f32 with a contiguous last dim.
#pragma once

#include <vector>

#include <array>

#include "ops/attention.h"
#include "ops/linear.h"
#include "ops/patch.h"
#include "ops/rope.h"

namespace wan::ops::cpu {

void linear(const Tensor& x2d, const Tensor& weight, const Tensor& bias, Activation act, Tensor& y2d);
void layer_norm(const Tensor& x2d, double eps, const Tensor& weight, const Tensor& bias, Tensor& y2d);
void rms_norm(const Tensor& x2d, const Tensor& weight, double eps, Tensor& y2d);
void gelu_tanh(const Tensor& x, Tensor& y);
void silu(const Tensor& x, Tensor& y);
void add(const Tensor& a, const Tensor& b, Tensor& out);  // b broadcast over a's leading dims
void add_(Tensor& a, const Tensor& b);
void modulate(const Tensor& x, const Tensor& shift, const Tensor& scale, Tensor& y);
void gated_residual_(Tensor& x, const Tensor& y, const Tensor& gate);
void embedding_lookup(const Tensor& ids, const Tensor& table, Tensor& out);
void mul(const Tensor& a, const Tensor& b, Tensor& out);
void sinusoidal_embedding(const Tensor& t, int64_t dim, Tensor& out);
void rope_apply_3d(const Tensor& x, const std::vector<Grid3>& grids, const RopeTable& table, int64_t first_token,
                   Tensor& y);
// fp8_probabilities: each unnormalised probability exp(s - max) rounded as E4M3 at scale 448
// before it weighs v (the sum that normalises stays exact): ops/attention_fp8.h's emulation.
void attention(const Tensor& q, const Tensor& k, const Tensor& v, const std::vector<int64_t>& k_lens,
               double scale, const Tensor& bias, Tensor& out, bool fp8_probabilities = false);
void conv3d(const Tensor& x, const Tensor& weight, const Tensor& bias, std::array<int64_t, 3> stride,
            std::array<int64_t, 4> pad, Tensor& out);
void rms_norm_channels(const Tensor& x, const Tensor& gamma, Tensor& y);
void upsample_nearest_2x(const Tensor& x, Tensor& y);
void add_avg_down_3d(const Tensor& x, int64_t factor_t, int64_t factor_s, Tensor& y);
void add_dup_up_3d(const Tensor& x, int64_t factor_t, int64_t factor_s, int64_t drop, Tensor& y);
void clamp(const Tensor& x, float lo, float hi, Tensor& y);
void patch_embed(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& tokens);
void unpatchify(const Tensor& tokens, const Grid3& grid, const Patch3& patch, int64_t channels, Tensor& out);

}  // namespace wan::ops::cpu

// CPU reference for ops/patch.h: the patch Conv3d as gather + linear, and the inverse scatter.
#include "ops/cpu/kernels.h"

namespace wan::ops::cpu {

void patch_embed(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& tokens) {
  const int64_t C = x.size(0), T = x.size(1), Hh = x.size(2), W = x.size(3);
  const int64_t D = weight.size(0), pt = weight.size(2), ph = weight.size(3), pw = weight.size(4);
  const int64_t F = T / pt, Hp = Hh / ph, Wp = W / pw, K = C * pt * ph * pw;
  // Gather each patch in the Conv3d weight's (c, i, j, k) order, then one matrix product.
  Tensor patches = Tensor::empty({F * Hp * Wp, K}, DType::F32);
  const float* xp = x.data<float>();
  float* pp = patches.data<float>();
  for (int64_t f = 0; f < F; ++f)
    for (int64_t h = 0; h < Hp; ++h)
      for (int64_t w = 0; w < Wp; ++w) {
        float* row = pp + ((f * Hp + h) * Wp + w) * K;
        for (int64_t c = 0; c < C; ++c)
          for (int64_t i = 0; i < pt; ++i)
            for (int64_t j = 0; j < ph; ++j)
              for (int64_t k = 0; k < pw; ++k)
                *row++ = xp[((c * T + f * pt + i) * Hh + h * ph + j) * W + w * pw + k];
      }
  linear(patches, weight.view({D, K}), bias, Activation::None, tokens);
}

void unpatchify(const Tensor& tokens, const Grid3& grid, const Patch3& patch, int64_t C, Tensor& out) {
  const int64_t F = grid[0], Hp = grid[1], Wp = grid[2];
  const int64_t pt = patch[0], ph = patch[1], pw = patch[2];
  const int64_t T = F * pt, Hh = Hp * ph, W = Wp * pw, K = tokens.size(1);
  const float* tp = tokens.data<float>();
  float* op = out.data<float>();
  for (int64_t f = 0; f < F; ++f)
    for (int64_t h = 0; h < Hp; ++h)
      for (int64_t w = 0; w < Wp; ++w) {
        const float* row = tp + ((f * Hp + h) * Wp + w) * K;
        for (int64_t i = 0; i < pt; ++i)
          for (int64_t j = 0; j < ph; ++j)
            for (int64_t k = 0; k < pw; ++k)
              for (int64_t c = 0; c < C; ++c)
                op[((c * T + f * pt + i) * Hh + h * ph + j) * W + w * pw + k] = row[((i * ph + j) * pw + k) * C + c];
      }
}

}  // namespace wan::ops::cpu

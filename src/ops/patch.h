// Patch embedding and its inverse (wan/modules/model.py: patch_embedding Conv3d, WanModel.unpatchify).
//
// patch_embed: x [C, T, H, W] f32, weight [D, C, pt, ph, pw], bias [D] -> tokens [F·H'·W', D] with
//   F = T/pt, H' = H/ph, W' = W/pw in row-major (f, h, w) order: the Conv3d with kernel = stride =
//   patch, flattened and transposed. T, H, W must be multiples of the patch.
// unpatchify: tokens [L, pt·ph·pw·C] (L >= F·H'·W'; the rest is padding and ignored) -> [C, F·pt,
//   H'·ph, W'·pw], feature ((i·ph + j)·pw + k)·C + c of token (f, h, w) going to
//   [c, f·pt + i, h·ph + j, w·pw + k] (einsum 'fhwpqrc->cfphqwr').
#pragma once

#include <array>

#include "core/tensor.h"
#include "ops/rope.h"

namespace wan::ops {

using Patch3 = std::array<int64_t, 3>;  // (pt, ph, pw)

Tensor patch_embed(const Tensor& x, const Tensor& weight, const Tensor& bias);
Tensor unpatchify(const Tensor& tokens, const Grid3& grid, const Patch3& patch, int64_t out_channels);

}  // namespace wan::ops

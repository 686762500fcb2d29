// conv3d: a 3-D convolution without temporal padding (the VAE's CausalConv3d pads in time itself,
// from its cache), with explicit spatial zero padding; Conv2d is the case kt = 1.
//
//   x [C, T, H, W] f32, weight [O, C, kt, kh, kw] f32, bias [O] f32 or undefined
//   stride (st, sh, sw) >= 1; pad (top, bottom, left, right) >= 0 zeros around H and W
//   -> [O, (T − kt)/st + 1, (H + top + bottom − kh)/sh + 1, (W + left + right − kw)/sw + 1]
// (nn.Conv3d / nn.Conv2d with padding 0 applied to the padded input; wan/modules/vae2_1.py.)
#pragma once

#include <array>

#include "core/tensor.h"

namespace wan::ops {

Tensor conv3d(const Tensor& x, const Tensor& weight, const Tensor& bias, std::array<int64_t, 3> stride = {1, 1, 1},
              std::array<int64_t, 4> pad = {0, 0, 0, 0});

}  // namespace wan::ops

// conv3d: a 3-D convolution without temporal padding (the VAE's CausalConv3d pads in time itself,
// from its cache), with explicit spatial zero padding; Conv2d is the case kt = 1.
//
//   x [C, T, H, W], weight [O, C, kt, kh, kw], bias [O] f32 or undefined
//   stride (st, sh, sw) >= 1; pad (top, bottom, left, right) >= 0 zeros around H and W
//   -> [O, (T − kt)/st + 1, (H + top + bottom − kh)/sh + 1, (W + left + right − kw)/sw + 1]
// (nn.Conv3d / nn.Conv2d with padding 0 applied to the padded input; wan/modules/vae2_1.py.)
// CPU: f32, any layout, contiguous output. CUDA: x bf16 or f32 and the weight in x's dtype, any
// layouts; the output is channels-last (Tensor::is_channels_last) in x's dtype. Channels-last x and
// a weight from conv3d_weight_layout are used as they are; anything else is rearranged first.
//
// conv3d_weight_layout: the weight as the convolution on its device reads it: on CUDA in `dtype`
// with C innermost (stored [O, kt, kh, kw, C]); on the CPU itself (f32 only). 4-D [O, C, kh, kw]
// 2-D kernels keep their shape (unsqueeze(2) makes them 3-D).
#pragma once

#include <array>

#include "core/tensor.h"

namespace wan::ops {

Tensor conv3d(const Tensor& x, const Tensor& weight, const Tensor& bias, std::array<int64_t, 3> stride = {1, 1, 1},
              std::array<int64_t, 4> pad = {0, 0, 0, 0});
Tensor conv3d_weight_layout(const Tensor& weight, DType dtype);

}  // namespace wan::ops

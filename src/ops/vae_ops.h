// Pointwise and resampling ops of the video VAEs (wan/modules/vae2_1.py).
//
// rms_norm_channels: the VAE's RMS_norm with channel_first: x [C, ...] f32, gamma [C] ->
//   F.normalize(x, dim=0) · √C · gamma, F.normalize = x / max(‖x‖₂ over C, 1e-12) per position.
// upsample_nearest_2x: x [C, T, H, W] -> [C, T, 2H, 2W], out[.., h, w] = x[.., h/2, w/2]
//   (nn.Upsample(scale_factor=2, mode='nearest-exact')).
#pragma once

#include "core/tensor.h"

namespace wan::ops {

Tensor rms_norm_channels(const Tensor& x, const Tensor& gamma);
Tensor upsample_nearest_2x(const Tensor& x);

}  // namespace wan::ops

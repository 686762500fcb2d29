// Pointwise and resampling ops of the video VAEs (wan/modules/vae2_1.py).
//
// rms_norm_channels: the VAE's RMS_norm with channel_first: x [C, ...], gamma [C] f32 ->
//   F.normalize(x, dim=0) · √C · gamma, F.normalize = x / max(‖x‖₂ over C, 1e-12) per position;
//   with `silu`, then x·sigmoid(x) (the nn.SiLU that follows every RMS_norm of the VAE's blocks).
// upsample_nearest_2x: x [C, T, H, W] -> [C, T, 2H, 2W], out[.., h, w] = x[.., h/2, w/2]
//   (nn.Upsample(scale_factor=2, mode='nearest-exact')).
// clamp: min(max(x, lo), hi) elementwise (the decoder's `.clamp_(-1, 1)`); the output keeps a
//   dense x's layout.
// CPU: f32. CUDA: f32 contiguous, or channels-last (Tensor::is_channels_last) bf16/f32, the GPU VAE's
// layout, which the output keeps; arithmetic in f32.
#pragma once

#include "core/tensor.h"

namespace wan::ops {

Tensor rms_norm_channels(const Tensor& x, const Tensor& gamma, bool silu = false);
// The same written into `out` (x's shape, dtype and device; e.g. the time window of a larger video
// that a convolution reads next, so the result needs no copy there). With `bias` (f32 [C] on x's
// device): the norm of x + bias[c], where x is a convolution's output without its bias (the norm
// adds it in f32 as it reads x: one pass over the video fewer).
void rms_norm_channels_into(const Tensor& x, const Tensor& gamma, bool silu, Tensor& out, const Tensor& bias = {});
// a += bias[c] + b over videos [C, ...] of one shape (a: a convolution's output without its bias,
// b: the residual), bias f32 [C]; on the GPU a is dense and bf16/f32, b of a's dtype.
void add_with_channel_bias_(Tensor& a, const Tensor& bias, const Tensor& b);
Tensor upsample_nearest_2x(const Tensor& x);
Tensor clamp(const Tensor& x, float lo, float hi);

}  // namespace wan::ops

// Pointwise and resampling ops of the video VAEs (wan/modules/vae2_1.py).
//
// rms_norm_channels: the VAE's RMS_norm with channel_first: x [C, ...], gamma [C] f32 ->
//   F.normalize(x, dim=0) · √C · gamma, F.normalize = x / max(‖x‖₂ over C, 1e-12) per position;
//   with `silu`, then x·sigmoid(x) (the nn.SiLU that follows every RMS_norm of the VAE's blocks).
// upsample_nearest_2x: x [C, T, H, W] -> [C, T, 2H, 2W], out[.., h, w] = x[.., h/2, w/2]
//   (nn.Upsample(scale_factor=2, mode='nearest-exact')).
// add_avg_down_3d_: y += AvgDown3D(x) (vae2_2.py L316–367, the encoder's Down_ResidualBlock
//   shortcut). x [C, T, H, W] gets (ft − T % ft) % ft zero frames in front; output channel o of
//   y [O, T', H', W'] (T' = padded T / ft, H' = H / fs, W' = W / fs) is the mean of the `group` =
//   C·ft·fs·fs / O entries k = o·group + g (g < group) of the flattened (c, a, b, d) block index
//   k = ((c·ft + a)·fs + b)·fs + d, each x[c, t'·ft + a − pad, h'·fs + b, w'·fs + d].
// add_dup_up_3d_: y += DupUp3D(x) (vae2_2.py L370–412, the decoder's Up_ResidualBlock shortcut),
//   its first `drop` frames skipped (ft − 1 on the first chunk). x [C, T, H, W] → y [O, T·ft −
//   drop, H·fs, W·fs]; y[o, t·ft + a − drop, h·fs + b, w·fs + d] += x[(o·f + j) / r, t, h, w] with
//   f = ft·fs·fs, j = (a·fs + b)·fs + d and r = O·f / C (repeat_interleave, then the view).
//   Both fused into the residual sum: the shortcut's video is never written.
// clamp: min(max(x, lo), hi) elementwise (the decoder's `.clamp_(-1, 1)`); the output keeps a
//   dense x's layout.
// CPU: f32. CUDA: f32 contiguous, or channels-last (Tensor::is_channels_last) bf16/f32, the GPU VAE's
// layout, which the output keeps; arithmetic in f32. The in-place adds take a dense channels-last y
// on the GPU (x in y's dtype) and a contiguous y on the CPU.
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
void add_avg_down_3d_(Tensor& y, const Tensor& x, int64_t factor_t, int64_t factor_s);
void add_dup_up_3d_(Tensor& y, const Tensor& x, int64_t factor_t, int64_t factor_s, int64_t drop);
Tensor upsample_nearest_2x(const Tensor& x);
Tensor clamp(const Tensor& x, float lo, float hi);

}  // namespace wan::ops

// Elementwise arithmetic of the DiT's fp32 regions (wan/modules/model.py WanAttentionBlock.forward).
//
// add:            a [..., *S] + b [*S]  (b broadcast over a's leading dims): `modulation + e0`.
// mul:            a · b, same shapes: the gated FFN `fc1(x) · gelu(gate(x))`. On CUDA: contiguous
//                 bf16 a and b, the product in f32 rounded once to bf16 (as torch multiplies bf16).
// add_:           a += b, same shapes: the cross-attention residual `x = x + cross_attn(...)`, the
//                 VAE's residual sums. On CUDA: a dense bf16/f32 a (e.g. channels-last), b any layout.
// modulate:       x [B, L, D] · (1 + scale) + shift, with shift/scale [B, Lm, D], Lm = 1 (one
//                 vector per sample, broadcast over tokens) or Lm = L (per token). Evaluated in
//                 the official order: (1 + scale), then the product, then + shift.
// gated_residual_: x [B, L, D] += y [B, L, D] · gate [B, Lm, D], same broadcasting.
// shift/scale/gate may be strided views (chunks of [B, Lm, 6, D]); their last dim is contiguous.
#pragma once

#include "core/tensor.h"

namespace wan::ops {

Tensor add(const Tensor& a, const Tensor& b);
void add_(Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor modulate(const Tensor& x, const Tensor& shift, const Tensor& scale);
void gated_residual_(Tensor& x, const Tensor& y, const Tensor& gate);

}  // namespace wan::ops

// Fused memory-bound ops of the DiT block (wan/modules/model.py WanAttentionBlock.forward,
// WanSelfAttention.forward), each one pass over the activations on the GPU. The CPU versions are
// their references: the same arithmetic composed from the plain ops.
//
// layer_norm_modulate: x [B, L, D] f32 → bf16 [B, L, D]:
//   y = LN(x) (eps, optional affine weight/bias [D]) · (1 + scale[b]) + shift[b]  when shift/scale
//   ([B, D] f32) are given, else LN(x); the adaLN input of self-attention and FFN, and norm3.
// layer_norm_modulate_fp8: the same bf16 result quantised per row to E4M3, as an FP8 product's input
//   x2d [B·L, D] (ops/linear_fp8.h): equal bit for bit to quantize_fp8(layer_norm_modulate(...)
//   viewed [B·L, D], PerRow), which is its CPU path. On the GPU one pass: the bf16 row is never
//   written (where the width has no vectorised kernel, the two ops run apart).
// rms_norm_rope: x [B, L, D] bf16 (a q or k projection) → bf16 [B, L, D]:
//   y = bf16(bf16(x · rsqrt(mean(x²) + eps)) · weight) over the full D (WanRMSNorm, as autocast
//   computes it), then, when `table` is given, the 3-D RoPE of head h's pairs at the token's grid
//   position (tokens past the sample's grid unrotated), in f32; the result rounded to bf16.
//   Row l is token first_token + l of its sample (Ulysses: each GPU holds a slice of the tokens,
//   so a grid may hold more tokens than x has rows).
// rms_norm_rope_: the same in place on x [B, L, D] bf16 whose rows may be strided (the q or k
//   columns of a fused QKV product: stride(2) = 1, stride(0) = L·stride(1)).
// residual_add_: x [B, L, D] f32 += y [B, L, D] bf16 · gate[b] (gate [B, D] f32, or 1 when undefined).
// residual_layer_norm_modulate_ / _fp8_: residual_add_(x, y, gate), then layer_norm_modulate(_fp8)
//   of the updated x (WanAttentionBlock.forward: each residual update is followed by the next
//   sub-block's norm); on the GPU one pass, reading and writing x once instead of three times.
//   Equal bit for bit to the two ops apart. An undefined y is no update: layer_norm_modulate(_fp8)
//   of x alone.
// block_modulation: e [B, Ke, D] f32, table [N, K, D] f32 (Ke = K or 1) → [N, K, B, D] f32,
//   out[n, k, b] = table[n, k] + e[b, k or 0]: every block's modulation (blocks.n.modulation + e0)
//   and the head's (head.modulation + e), wan/modules/model.py WanAttentionBlock.forward / Head.forward.
#pragma once

#include <vector>

#include "core/tensor.h"
#include "ops/quantize.h"
#include "ops/rope.h"

namespace wan::ops {

Tensor layer_norm_modulate(const Tensor& x, double eps, const Tensor& weight, const Tensor& bias, const Tensor& shift,
                           const Tensor& scale);
Fp8Matrix layer_norm_modulate_fp8(const Tensor& x, double eps, const Tensor& weight, const Tensor& bias,
                                  const Tensor& shift, const Tensor& scale);
Tensor rms_norm_rope(const Tensor& x, const Tensor& weight, double eps, int64_t num_heads,
                     const std::vector<Grid3>& grids, const RopeTable* table, int64_t first_token = 0);
void rms_norm_rope_(Tensor& x, const Tensor& weight, double eps, int64_t num_heads, const std::vector<Grid3>& grids,
                    const RopeTable* table, int64_t first_token = 0);
void residual_add_(Tensor& x, const Tensor& y, const Tensor& gate);
Tensor residual_layer_norm_modulate_(Tensor& x, const Tensor& y, const Tensor& gate, double eps, const Tensor& weight,
                                     const Tensor& bias, const Tensor& shift, const Tensor& scale);
Fp8Matrix residual_layer_norm_modulate_fp8_(Tensor& x, const Tensor& y, const Tensor& gate, double eps,
                                            const Tensor& weight, const Tensor& bias, const Tensor& shift,
                                            const Tensor& scale);
Tensor block_modulation(const Tensor& e, const Tensor& table);

}  // namespace wan::ops

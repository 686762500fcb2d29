// attention: softmax(q·kᵀ · scale) · v per head, non-causal, with an optional key length per sample.
//
//   q [B, Lq, H, Dh], k [B, Lk, H, Dh], v [B, Lk, H, Dv] f32 -> [B, Lq, H, Dv] f32
//   k_lens: empty (all Lk keys) or B lengths in [0, Lk]; keys at positions >= k_lens[b] are masked,
//   as flash_attn_varlen_func does with cu_seqlens_k (wan/modules/attention.py flash_attention).
//   Every query row is computed, padding rows included; a sample with no keys gives zeros.
//   scale: 1/√Dh for the DiT (flash-attn's default); the T5 encoder passes 1.
//   bias: optional [H, Lq, Lk] f32 added to the scaled logits of every sample (the T5 encoder's
//   relative position bias); an undefined Tensor for none.
// On CUDA: bf16 q, k, v [B, L, H, D] with contiguous heads (strided views of a fused QKV
// projection are fine), out bf16 contiguous; no bias; cuDNN's fused attention (fp32 softmax), or
// on Hopper with D = 128 our own kernel (ops/cuda/flash_attention_sm90.h) where it measured faster.
// Or f32 q, k, v (any head dim, e.g. the VAE's single 384-wide head), optional bias, no key
// lengths: an [Lq, Lk] f32 score matrix per sample and head, TF32 products, f32 softmax.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace wan::ops {

Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, const std::vector<int64_t>& k_lens,
                 double scale, const Tensor& bias = {});

}  // namespace wan::ops

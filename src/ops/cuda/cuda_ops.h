// The CUDA implementations of the ops, called by the op front ends (src/ops/*.cpp) after they
// validated the arguments; they run on the backend's stream and do not synchronise.
#pragma once

#include <vector>

#include "core/tensor.h"
#include "ops/linear.h"

namespace wan::ops::cuda {

// y2d [M, N] = act(x2d [M, K] · weight [N, K]ᵀ + bias [N]): bf16 operands and output, fp32
// accumulation, through cuBLASLt with the bias and GELU-tanh epilogues.
void linear(const Tensor& x2d, const Tensor& weight, const Tensor& bias, Activation act, Tensor& y2d);

// y2d [M, N] f32 = x2d [M, K] f32 · weight [N, K]ᵀ + bias [N], then SiLU when asked: weight and
// bias bf16 or f32, f32 arithmetic; one warp per output feature, for small M (time embeddings).
void linear_f32(const Tensor& x2d, const Tensor& weight, const Tensor& bias, bool silu, Tensor& y2d);
// y = silu(x), f32, contiguous, same size.
void silu(const Tensor& x, Tensor& y);
// ops/dit_fused.h block_modulation.
void block_modulation(const Tensor& e, const Tensor& table, Tensor& out);

// out [B, Lq, H, D] = softmax(q·kᵀ·scale)·v per head with keys past k_lens[b] masked: bf16 q, k, v
// with a contiguous head dim and per-token strides as given, out contiguous; cuDNN fused SDPA.
void attention(const Tensor& q, const Tensor& k, const Tensor& v, const std::vector<int64_t>& k_lens, double scale,
               Tensor& out);

// ops/dit_fused.h: x/out [B, L, D] (rms_norm_rope: rows may be strided, x may be out; others contiguous); parameters f32 [D] or [B, D]; grids [B, 3] i64 and
// cos/sin [max_pos, head_dim/2] f32 on the GPU (undefined cos: no rotation).
void layer_norm_modulate(const Tensor& x, double eps, const Tensor& w, const Tensor& b, const Tensor& shift,
                         const Tensor& scale, Tensor& out);
void rms_norm_rope(const Tensor& x, const Tensor& w, double eps, int64_t head_dim, const Tensor& grids,
                   const Tensor& cos_t, const Tensor& sin_t, int64_t s0, int64_t s1, Tensor& out);
void residual_add(Tensor& x, const Tensor& y, const Tensor& gate);
// out f32 = in bf16 (contiguous, same size).
void bf16_to_f32(const Tensor& in, Tensor& out);
// Normal random values (a counter hash and Box-Muller) into a contiguous bf16/f32 GPU tensor.
void fill_normal(Tensor& t, uint64_t seed, float mean, float stddev);

}  // namespace wan::ops::cuda

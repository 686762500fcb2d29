// The CUDA implementations of the ops, called by the op front ends (src/ops/*.cpp) after they
// validated the arguments; they run on the backend's stream and do not synchronise.
#pragma once

#include <array>
#include <string>
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
// ops/dit_fused.h block_modulation.
void block_modulation(const Tensor& e, const Tensor& table, Tensor& out);

// out [B, Lq, H, D] = softmax(q·kᵀ·scale)·v per head with keys past k_lens[b] masked: bf16 q, k, v
// with a contiguous head dim and per-token strides as given, out contiguous; cuDNN fused SDPA.
void attention(const Tensor& q, const Tensor& k, const Tensor& v, const std::vector<int64_t>& k_lens, double scale,
               Tensor& out);

// Whether this build's device code runs on the current GPU: "" when it does, else the runtime's
// error for a kernel of it ("no kernel image is available ..." where no target of WAN_CUDA_GENCODE fits).
std::string device_code_error();

// FP8 E4M3 (fp8_kernels.cu, linear_fp8.cpp, attention_fp8.cpp; contracts in ops/quantize.h,
// ops/linear_fp8.h, ops/attention_fp8.h).
// Rows [rows, K] of bf16 at x (row stride ld) -> values [rows, K] e4m3 and scales f32 [rows].
void quantize_rows_fp8(const void* x, int64_t rows, int64_t K, int64_t ld, Tensor& values, Tensor& scales);
// The same with one scale [1] for all rows (and 1 / scale into *inverse when not null); amax: an
// f32 [1] scratch tensor on the GPU.
void quantize_tensor_fp8(const void* x, int64_t rows, int64_t cols, int64_t ld, Tensor& values, Tensor& scale,
                         Tensor& amax, float* inverse = nullptr);
// Only the scale (and *inverse) quantize_tensor_fp8 would write, no values; *amax is left holding
// x's |max|, for quantize_tensor_fp8_from_amax.
void tensor_scale_fp8(const void* x, int64_t rows, int64_t cols, int64_t ld, Tensor& scale, Tensor& amax,
                      float* inverse = nullptr);
// quantize_tensor_fp8 with *amax already holding x's |max| (tensor_scale_fp8's): no second pass over x.
void quantize_tensor_fp8_from_amax(const void* x, int64_t rows, int64_t cols, int64_t ld, Tensor& values,
                                   Tensor& scale, Tensor& amax, float* inverse = nullptr);
// y2d bf16 [M, N] = act(y2d + bias [N] bf16), in place (products whose epilogue cuBLASLt lacks).
void bias_act_bf16(Tensor& y2d, const Tensor& bias, bool gelu);
// y2d bf16 [M, N] = act(y2d · x_scales[m] · w_scales[n] + bias [N]), in place; scales [M]/[N] or [1].
void scale_bias_act_bf16(Tensor& y2d, const Tensor& x_scales, const Tensor& w_scales, const Tensor& bias, bool gelu);
// out bf16 = values e4m3 · scale[0] (contiguous, same size).
void dequantize_fp8_bf16(const Tensor& values, const Tensor& scale, Tensor& out);
// y2d bf16 [M, N] = act((xq [M, K] · x_scales[M]) · (wq [N, K] · w_scales[N])ᵀ + bias): cuBLASLt
// FP8 with a scale per row of x and of w (or one each: [1]), fp32 accumulation.
void linear_fp8(const Tensor& xq, const Tensor& x_scales, const Tensor& wq, const Tensor& w_scales, const Tensor& bias,
                Activation act, Tensor& y2d);
// How linear_fp8 runs a product of this shape (operands 256-byte aligned) on this card, its plan
// made if new: "fused" (scales, bias and activation in cuBLASLt's epilogue), "scaled" (the bias and
// activation in a pass after it) or "unscaled" (scales too): the form cuBLASLt offers, until the
// shape's first call has timed it against the unscaled product and its pass and kept the faster.
const char* linear_fp8_form(int64_t M, int64_t N, int64_t K, Activation act, bool bias, bool vector_scales);
// As attention(), with q, k and v quantised to E4M3 with a scale each and cuDNN's FP8 attention.
void attention_fp8(const Tensor& q, const Tensor& k, const Tensor& v, const std::vector<int64_t>& k_lens,
                   double scale, Tensor& out);

// ops/dit_fused.h: x/out [B, L, D] (rms_norm_rope: rows may be strided, x may be out; others contiguous); parameters f32 [D] or [B, D]; grids [B, 3] i64 and
// cos/sin [max_pos, head_dim/2] f32 on the GPU (undefined cos: no rotation).
void layer_norm_modulate(const Tensor& x, double eps, const Tensor& w, const Tensor& b, const Tensor& shift,
                         const Tensor& scale, Tensor& out);
// The same quantised per row to E4M3 (values [B·L, D] F8_E4M3, row_scales [B·L] f32; ops/dit_fused.h);
// false when the row's width or alignment has no vectorised kernel (the caller quantises apart).
bool layer_norm_modulate_fp8(const Tensor& x, double eps, const Tensor& w, const Tensor& b, const Tensor& shift,
                             const Tensor& scale, Tensor& values, Tensor& row_scales);
void rms_norm_rope(const Tensor& x, const Tensor& w, double eps, int64_t head_dim, const Tensor& grids,
                   const Tensor& cos_t, const Tensor& sin_t, int64_t s0, int64_t s1, int64_t first_token, Tensor& out);
void residual_add(Tensor& x, const Tensor& y, const Tensor& gate);
// residual_add then layer_norm_modulate of the updated x in one pass: out bf16 [B, L, D], or with
// row_scales E4M3 values [B·L, D] and their row scales (as layer_norm_modulate_fp8). False, with
// nothing done, when the width or alignment has no vectorised kernel (the caller runs the two apart).
bool residual_layer_norm_modulate(Tensor& x, const Tensor& y, const Tensor& gate, double eps, const Tensor& w,
                                  const Tensor& b, const Tensor& shift, const Tensor& scale, Tensor& out,
                                  Tensor* row_scales);
// Row-major f32 C [M, N] (ldc) = alpha·A [M, K] (lda)·op(B) + beta·C, B stored [N, K] (ldb) when
// b_is_nk, else [K, N], plus bias [N] when given: cuBLASLt with TF32 tensor cores and f32
// accumulation.
void gemm_f32(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
              bool b_is_nk, float* C, int64_t ldc, float alpha = 1.0f, float beta = 0.0f,
              const float* bias = nullptr);
// ops/attention.h for f32 q/k/v on the GPU (the VAE's single-head attention; any head dim):
// per (sample, head) S = scale·q·kᵀ (+ bias[h]) in an [Lq, Lk] f32 buffer, softmax, S·v.
void attention_f32(const Tensor& q, const Tensor& k, const Tensor& v, double scale, const Tensor& bias, Tensor& out);
// In place over `rows` rows of n values (leading dimension ld): softmax, f32.
void softmax_rows(float* s, int64_t rows, int64_t n, int64_t ld);

// ops/conv.h on cuDNN, channels-last: x [C, T, H, W] and out [O, T', H', W'] channels-last, weight
// [O, C, kt, kh, kw] with C innermost (conv3d_weight_layout), all bf16 (fp32 accumulation) or all f32
// (TF32 math, as PyTorch runs f32 convolutions); bias f32 [O] or undefined; symmetric padding
// (pad[0] == pad[1], pad[2] == pad[3]). The fastest of cuDNN's algorithms, timed once per shape.
// False when no algorithm runs the shape (seen for f32 with 3 output channels at 720p): the caller
// then splits the frames.
bool conv3d(const Tensor& x, const Tensor& weight, const Tensor& bias, std::array<int64_t, 3> stride,
            std::array<int64_t, 4> pad, Tensor& out);
// ops/vae_ops.h on contiguous f32 tensors, out preallocated.
void rms_norm_channels(const Tensor& x, const Tensor& gamma, Tensor& y);
void upsample_nearest_2x(const Tensor& x, Tensor& y);
// The same on channels-last bf16 or f32 tensors (x and y of one dtype; gamma f32), with the SiLU
// after the norm fused in when asked (channels_last_kernels.cu).
// With `bias` (f32 [C], may be undefined): the norm of x + bias[c].
void rms_norm_channels_last(const Tensor& x, const Tensor& gamma, bool silu, Tensor& y, const Tensor& bias = {});
void upsample_nearest_2x_last(const Tensor& x, Tensor& y);
// y [O, ...] channels-last bf16/f32 += bias[o] (f32).
void add_channel_bias_last(Tensor& y, const Tensor& bias);
// Over dense tensors of one layout, bf16 or f32, element by element in memory order: a += b; y = silu(x).
void add_flat(Tensor& a, const Tensor& b);
void silu_flat(const Tensor& x, Tensor& y);
void clamp_flat(const Tensor& x, float lo, float hi, Tensor& y);
// a += bias[c] + b over dense channels-last bf16/f32 tensors of one layout (C innermost), bias f32 [C].
void add_biased_last(Tensor& a, const Tensor& bias, const Tensor& b);
// ops/vae_ops.h's shortcut adds on dense channels-last videos of one dtype (bf16 or f32).
void add_avg_down_last(Tensor& y, const Tensor& x, int64_t factor_t, int64_t factor_s);
void add_dup_up_last(Tensor& y, const Tensor& x, int64_t factor_t, int64_t factor_s, int64_t drop);
// dst = src, any strides (rank <= 8), same shape and dtype, both on the GPU.
void strided_copy(Tensor& dst, const Tensor& src);

// out f32 = in bf16 (contiguous, same size).
void bf16_to_f32(const Tensor& in, Tensor& out);
// out = bf16(a · b) elementwise, the product in f32 (contiguous bf16, same size).
void mul_bf16(const Tensor& a, const Tensor& b, Tensor& out);
// out bf16 = in f32 rounded to nearest even (contiguous, same size).
void f32_to_bf16(const Tensor& in, Tensor& out);
// Normal random values (a counter hash and Box-Muller) into a contiguous bf16/f32 GPU tensor.
void fill_normal(Tensor& t, uint64_t seed, float mean, float stddev);

}  // namespace wan::ops::cuda

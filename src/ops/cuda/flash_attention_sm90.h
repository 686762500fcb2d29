// Our own fused attention for Hopper (sm_90a), head dim 128, no mask but the key length: the
// DiT's self-attention. softmax(q·kᵀ·scale)·v per head, as ops/attention.h, in the FlashAttention
// manner (a running row max and sum, never the [Lq, Lk] scores in memory), built on TMA loads and
// warpgroup matrix products (ops/cuda/sm90_device.h):
//   one block of 192 queries of one head per CTA; a loading warpgroup streams tiles of K and V
//   (80 keys in bf16, 96 in FP8) through a ring of shared-memory stages; three computing
//   warpgroups, 64 queries each, form S = Q·Kᵀ (wgmma, both operands in shared memory), the
//   softmax in registers, and O += P·V (wgmma, P from registers); fp32 scores, sums and accumulators.
//   The warpgroups take turns on the tensor cores, each issuing S_j and P_{j-1}·V together;
//   a warpgroup's softmax of S_j also overlaps its own P_{j-1}·V. (The larger tiles, for comparison:
//   128 queries a CTA, two computing warpgroups.)
// bf16 keeps the row maxima of a CTA's first key tile for all later tiles (softmax does not depend
// on the offset while nothing overflows): no maxima, correction factors or rescale of O after the
// first tile. Where a later score rises more than 96 binary orders above those maxima, or O
// overflows, the CTA marks itself and a second launch of the exact kernel (the running maximum)
// redoes those CTAs only; the others' blocks return at once. FP8 keeps them too, with the largest
// probability 16 where bf16's is 2^-32: E4M3 reaches only 448, so a warp whose probabilities
// outgrow that (a thread's partial row sum reaches 448) moves its rows' offsets up to their new
// maxima (exactly 16 again) and rescales that tile, O and the sums; rare after the first tiles.
// bf16 reads V as stored ([L, H, D] rows: wgmma takes a 16-bit operand summed over keys
// "MN-major"); FP8 reads Vᵀ ([H, D, keys]: wgmma takes 8-bit operands K-major only), which a pass
// writes from the [L, H, D] rows (~0.3% of the attention's time by its bytes).
// bf16: q, k, v bf16. FP8: q, k E4M3 [L, H, D] with one scale each, v E4M3 transposed and its keys
// reordered within each group of 32 so that the probabilities' E4M3 bytes, as the score
// accumulators leave them in registers, are the operand layout wgmma reads (no shuffles); P in
// E4M3 at exp2(s·log2e − max + 8) (at most 256; with the kept offsets + 4 where max is the
// largest score so far or below it), the sum in fp32. Output bf16 either way.
// The host functions run on the backend's stream; the callers (attention.cpp, attention_fp8.cpp)
// choose this kernel or cuDNN's by timing both on a shape's first call (attention_choice.h).
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>

#include "core/tensor.h"

namespace wan::ops::cuda {

// True where this kernel runs: a Hopper GPU (compute capability 9.0), head dim 128, and not
// switched off (WAN_FLASH_SM90=0 in the environment, or flash_sm90_enable(false): cuDNN only).
bool flash_sm90_available(int64_t head_dim);
void flash_sm90_enable(bool on);
// Keys per tile: bf16 80 (default), 128 or 176; FP8 96 (default), 128 or 192. 80 and 96 run three
// computing warpgroups, the others two; the defaults measured 1-6% (bf16) and 4-5% (FP8) faster than
// 176 and 192 (docs/performance.md, fifteenth session), which were 2-5% faster than 128 (eleventh).
// WAN_FLASH_BF16_KEYS / WAN_FLASH_FP8_KEYS in the environment set the starting choice. For
// benchmarks and tests.
void flash_sm90_set_key_tile(bool fp8, int keys);
int flash_sm90_key_tile(bool fp8);
// True when every operand (its address and its token stride in bytes) suits the TMA loads:
// 16-byte aligned rows.
bool flash_sm90_aligned(std::initializer_list<const void*> operands, std::initializer_list<int64_t> row_bytes);

// Whether `ours` (this kernel) runs faster than `theirs` (cuDNN's best plan) on the operands they
// are both bound to: each run twice, alternately (the card's clock drifts with its power draw),
// the fastest of each compared; logged at debug level under `what`.
bool flash_sm90_is_faster(const std::function<void()>& theirs, const std::function<void()>& ours, const char* what);

// One sample: q [Lq, H, 128] (token stride sq), k, v [Lk, H, 128] (token stride skv), out [Lq, H,
// 128] (token stride so), bf16; every element count in elements.
void flash_attention_sm90_bf16(const void* q, int64_t sq, const void* k, const void* v, int64_t skv, void* out,
                               int64_t so, int64_t Lq, int64_t Lk, int64_t H, float scale);

// One sample in FP8: q8 [Lq, H, 128] and k8 [Lk, H, 128] contiguous E4M3; v bf16 [Lk, H, 128] (token
// stride skv), quantised here with v_scale (device [1]: its |max| / 448, as quantize_tensor_fp8
// writes it) into the transposed, reordered layout; q_scale, k_scale device [1] likewise.
void flash_attention_sm90_fp8(const void* q8, const void* k8, const float* q_scale, const float* k_scale,
                              const void* v, int64_t skv, const float* v_scale, void* out, int64_t so, int64_t Lq,
                              int64_t Lk, int64_t H, float scale, Tensor& workspace);

}  // namespace wan::ops::cuda

// attention in FP8 E4M3 (issue 8): softmax(q·kᵀ · scale) · v per head, as ops/attention.h, with q,
// k and v quantised to E4M3 with one scale each (|max| / 448) and the probabilities weighing v in
// E4M3 too; scores, softmax and sums in fp32.
//
//   q [B, Lq, H, D], k [B, Lk, H, D], v [B, Lk, H, D] -> [B, Lq, H, D]; k_lens as ops/attention.h.
// The CPU path is the specification (f32 inputs, f32 out): q, k, v rounded through quantize_fp8
// per tensor, scores and softmax in double, each unnormalised probability exp(s − max) rounded as
// E4M3 at scale 448 before it weighs v, the normalising sum exact. The GPU (bf16 q, k, v laid out
// as for ops/attention: contiguous heads, any token stride; bf16 out) runs cuDNN's fused FP8 flash
// attention (ops/cuda/attention_fp8.cpp) or, on Hopper with D = 128 where it is faster, ours
// (ops/cuda/flash_attention_sm90.h, probabilities at exp2(... − max + 8)); both weigh v with
// probabilities relative to a running row max: the same roundings in a different order, so they
// agree with the CPU to FP8's precision, not bit for bit. D must be a multiple of 16 on the GPU
// (Hopper, cuDNN >= 9.1). Shapes cuDNN has no FP8 engine for (measured: one query and one key) run
// through ours on Hopper, else through the bf16 attention.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace wan::ops {

Tensor attention_fp8(const Tensor& q, const Tensor& k, const Tensor& v, const std::vector<int64_t>& k_lens,
                     double scale);

}  // namespace wan::ops

// How much GPU memory a text-to-video run needs, predicted from the sizes of what lives on the
// GPU, so a run that cannot fit fails before loading anything, with what would fit.
//
// What this engine keeps on the GPU with --device cuda (pipeline/text_to_video.cpp): every DiT
// expert in bf16 (both A14B experts stay resident, or one with offload_experts), the VAE's convolution weights in bf16 (f32 with
// vae_f32); the text encoder is released after encoding. Two phases peak:
//  - a DiT forward: its weights plus 12 bytes per token and model dim (the f32 residual stream,
//    the bf16 q/k/v product and the bf16 attention output live together during self-attention;
//    models/wan_dit_cuda.cpp). Checked against `wan bench dit` on an H100 (docs/performance.md):
//    26.62 + 4.33 GiB at 720p, 26.62 + 1.88 at 480p, 9.31 + 0.95 for TI2V-5B, all within 1%.
//  - the VAE decode (channels-last, models/wan_vae.h): its live tensors grow with the frame area
//    (a chunk has at most 4 frames); the peaks measured with `wan bench vae` on an H100 at
//    1280x720 (Wan2.1: 7.35 GiB with bf16 activations, 16.87 with f32) and 1280x704 (Wan2.2: 7.38
//    and 18.11 GiB), less the VAE's weights, scale with the area. Whole runs: docs/performance.md
//    and tests/pipeline/test_memory_plan.cpp.
// With FP8 (core/precision.h) the blocks' Linear weights take 1 byte per parameter (26.62 -> 13.54
// GiB for an A14B expert, measured) and a forward 4 more bytes per token and dim: the E4M3 q, k, v
// and attention output beside the bf16 ones (measured: 6.50 GiB at 720p, 2.82 at 480p, 1.41 for
// TI2V-5B above the weights; predicted 6.49, 2.81, 1.40 before the attention output was dequantised
// in place, which saved 2 of the then 18 bytes per token and dim).
// With Ulysses over N GPUs (dist/parallel.h) a forward holds 1/N of the tokens, at 16 bytes per
// token and dim: the all-to-all's send and receive buffers of q, k, v live beside the residual
// stream (models/wan_dit_cuda.cpp ulysses_attention). Rank 0 alone holds the VAE.
// Our Hopper attention kernel (ops/cuda/flash_attention_sm90.h, ninth session) reads V transposed
// from a tensor of its own during self-attention: 2 more bytes per token and dim in bf16, 1 in FP8
// (measured on an H100: 31.68 GiB at 720p bf16 against 30.95 with cuDNN's attention, 28.82 against
// 28.50 at 480p, 19.68 against 19.32 at 720p in FP8). The plan counts it wherever the GPU may choose
// that kernel.
// The CUDA DiT keeps cross-attention's keys and values per text between steps (two texts: a
// prompt and its negative prompt; models/wan_dit_cuda.h), layers x text_len x 2 x dim bf16 values
// each: 0.39 GiB per text for A14B, 0.18 for TI2V-5B. The denoising loop frees an expert's when its
// steps are over, so one expert's are live at a time, and none during the VAE decode.
// The CUDA DiT's guided pairs (models/wan_dit_cuda.h predict_guided) keep the first block's
// self-attention output, 2 bytes per token and dim, through both forwards of a step.
// The caching allocator reserves more than the live peak (docs/performance.md); `margin` covers
// the cuBLASLt/cuDNN workspaces and fragmentation.
#pragma once

#include <cstdint>
#include <string>

#include "models/wan_dit_config.h"
#include "pipeline/task_config.h"

namespace wan {

struct MemoryPlan {
  int64_t experts = 1;             // DiT models resident on the GPU
  int64_t dit_weights = 0;         // bytes, all resident experts
  int64_t dit_activations = 0;     // bytes, one forward's peak above its weights, Vᵀ included:
  int64_t attention_vt = 0;        // bytes, our Hopper attention's transposed V (during self-attention)
  int64_t text_kv = 0;             // bytes, cross-attention's keys and values of two texts, kept between steps
  int64_t guided_first = 0;        // bytes, the first block's self-attention output a guided pair's
                                   // forwards share (DiTModel::predict_guided), live through both
  int64_t vae_weights = 0;         // bytes
  int64_t vae_decode = 0;          // bytes, the decoder's live tensors
  int64_t margin = 0;              // bytes: workspaces, fragmentation
  int64_t peak() const;            // the larger phase, plus the margin
  std::string describe() const;    // "54.2 GiB: 2 experts 53.2 GiB + ..."
};

// The plan for `task` at width x height x frames; `dit` is the task's DiT config.
// How a run places its parts on the GPU(s).
struct GpuPlacement {
  int64_t ulysses = 1;           // tokens split over this many GPUs (the plan is per GPU)
  bool vae_f32 = false;          // the VAE decoder with f32 activations (WanVAE::to) instead of bf16
  bool offload_experts = false;  // T2V-A14B: one expert on the GPU at a time (pipeline/expert_residency.h)
  bool fp8 = false;              // the DiT in FP8 (Precision::FP8)
  bool fp8_attention = true;     // with fp8: its self-attention in FP8 too (compute 9.0; Ada runs it in bf16)
};

MemoryPlan plan_gpu_memory(const TaskConfig& task, const WanDiTConfig& dit, int64_t width, int64_t height,
                           int64_t frames, const GpuPlacement& placement = {});

// Throws a clear error when the plan does not fit `free_bytes`, naming the need, what is free and
// the officially supported sizes of the task that would fit (or that none does).
// Without offload_experts, a T2V-A14B run that would fit with it says so.
void check_fits(const TaskConfig& task, const WanDiTConfig& dit, int64_t width, int64_t height, int64_t frames,
                int64_t free_bytes, const GpuPlacement& placement = {});
// Whether T2V-A14B needs its experts offloaded to run every official size with `frames` frames in
// `free_bytes` (both resident do not fit the largest, one resident does); false for one-expert tasks.
bool needs_expert_offload(const TaskConfig& task, const WanDiTConfig& dit, int64_t frames, int64_t free_bytes,
                          const GpuPlacement& placement = {});

}  // namespace wan

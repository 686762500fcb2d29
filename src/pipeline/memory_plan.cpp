#include "pipeline/memory_plan.h"

#include <algorithm>

#include "core/error.h"
#include "models/wan_dit_weights.h"
#include "models/wan_vae.h"

namespace wan {
namespace {

constexpr double kGiB = double(1ull << 30);

// Measured on an H100 with `wan bench vae` (docs/performance.md, fourth session): the peak of live
// GPU memory during a decode at 1280x720 (Wan2.1) and 1280x704 (Wan2.2), the VAE's own weights
// included, with bf16 and with f32 activations.
// bf16: `wan bench vae`, H100, fifth session (after the causal window's in-place zero fill); f32:
// fourth session.
constexpr double kVae21PeakGiB[2] = {7.35, 16.87}, kVae21Pixels = 1280.0 * 720.0;
constexpr double kVae22PeakGiB[2] = {7.38, 18.11}, kVae22Pixels = 1280.0 * 704.0;
constexpr int64_t kMargin = int64_t(1) << 30;  // 32 MiB cuBLASLt + cuDNN workspaces, fragmentation

std::string gib(int64_t bytes) { return str(double(int64_t(double(bytes) / kGiB * 10 + 0.5)) / 10, " GiB"); }

}  // namespace

int64_t MemoryPlan::peak() const {
  return std::max(dit_weights + dit_activations + guided_first, dit_weights + vae_decode) + vae_weights + margin;
}

std::string MemoryPlan::describe() const {
  return str(gib(peak()), ": ", experts, experts == 1 ? " DiT expert " : " DiT experts ", gib(dit_weights),
             " + the larger of a forward's activations ", gib(dit_activations + guided_first), " and the VAE decode ",
             gib(vae_decode), ", + VAE weights ", gib(vae_weights), " + ", gib(margin), " for workspaces");
}

MemoryPlan plan_gpu_memory(const TaskConfig& task, const WanDiTConfig& dit, int64_t width, int64_t height,
                           int64_t frames, const GpuPlacement& placement) {
  const int64_t ulysses = placement.ulysses;
  const bool vae_f32 = placement.vae_f32;
  WAN_CHECK(width > 0 && height > 0 && frames > 0 && ulysses >= 1, "plan_gpu_memory: empty video");
  MemoryPlan p;
  p.experts = task.two_experts && !placement.offload_experts ? 2 : 1;
  // FP8: every block's Linear weights (self q, k, v, o; cross q, k, v, o; the FFN) at 1 byte.
  const int64_t fp8_params = placement.fp8 ? dit.num_layers * (8 * dit.dim * dit.dim + 2 * dit.dim * dit.ffn_dim) : 0;
  p.dit_weights = p.experts * (wan_dit_parameter_count(dit) * 2 - fp8_params);
  const int64_t tokens = ((frames - 1) / task.vae_stride[0] + 1) * (height / task.vae_stride[1] / task.patch[1]) *
                         (width / task.vae_stride[2] / task.patch[2]);
  const int64_t rank_tokens = (tokens + ulysses - 1) / ulysses;
  const bool fp8_attention = placement.fp8 && placement.fp8_attention;
  p.attention_vt = fp8_attention ? rank_tokens * dit.dim : 0;  // FP8 only: bf16 reads V as stored
  p.text_kv = 2 * dit.num_layers * dit.text_len * 2 * dit.dim * 2;
  // The larger of two moments of a block: self-attention (the f32 residual, the QKV product, the
  // attention output; FP8 attention its E4M3 copies and Vᵀ; Ulysses the all-to-all's buffers) and the FFN
  // (the residual, the cross-attention's output and the FFN's output for every token, and one
  // chunk's norm output and hidden activation; FP8 that activation's E4M3 copy as well).
  const int64_t td = rank_tokens * dit.dim;
  const int64_t attention_stage = ((ulysses > 1 ? 16 : 12) + (fp8_attention ? 4 : 0)) * td + p.attention_vt;
  const int64_t chunk = wan_dit_ffn_chunk_rows(rank_tokens, dit.ffn_dim);
  const int64_t ffn_stage = 8 * td + chunk * (2 * dit.dim + (placement.fp8 ? 3 : 2) * dit.ffn_dim);
  p.dit_activations = std::max(attention_stage, ffn_stage) + p.text_kv;
  p.guided_first = 2 * td;
  const bool v22 = task.z_dim == 48;
  const WanVAEConfig vae = v22 ? WanVAEConfig::wan22() : WanVAEConfig::wan21();
  p.vae_weights = WanVAE::parameter_count(vae) * (vae_f32 ? 4 : 2);  // bf16: the convolutions' weights, nearly all
  // The decode's own tensors (the measured peak less the weights) grow with the frame area.
  const double measured = (v22 ? kVae22PeakGiB : kVae21PeakGiB)[vae_f32 ? 1 : 0] * kGiB - double(p.vae_weights);
  p.vae_decode = int64_t(measured / (v22 ? kVae22Pixels : kVae21Pixels) * double(width) * double(height));
  p.margin = kMargin;
  return p;
}

void check_fits(const TaskConfig& task, const WanDiTConfig& dit, int64_t width, int64_t height, int64_t frames,
                int64_t free_bytes, const GpuPlacement& placement) {
  const MemoryPlan plan = plan_gpu_memory(task, dit, width, height, frames, placement);
  if (plan.peak() <= free_bytes) return;
  GpuPlacement offloaded = placement;
  offloaded.offload_experts = true;
  const int64_t offloaded_peak = plan_gpu_memory(task, dit, width, height, frames, offloaded).peak();
  const bool offload_helps = task.two_experts && !placement.offload_experts && offloaded_peak <= free_bytes;
  std::string fits;
  for (const auto& [w, h] : task.sizes)
    if (plan_gpu_memory(task, dit, w, h, frames, placement).peak() <= free_bytes)
      fits += str(fits.empty() ? "" : ", ", w, "*", h);
  GpuPlacement in_fp8 = placement;
  in_fp8.fp8 = true;
  const int64_t fp8_peak = plan_gpu_memory(task, dit, width, height, frames, in_fp8).peak();
  const bool fp8_helps = !placement.fp8 && fp8_peak <= free_bytes;
  std::string hints;
  if (offload_helps)
    hints += str(" With the inactive expert offloaded to host memory (--offload true) it fits: ", gib(offloaded_peak),
                 ".");
  if (fp8_helps)
    hints += str(" In FP8 (--precision fp8, compute capability 8.9 or later) it fits: ", gib(fp8_peak), ".");
  fail(task.name, " at ", width, "x", height, ", ", frames, " frames needs about ", plan.describe(), "; the GPU has ",
       gib(free_bytes), " free.", hints, " ",
       fits.empty() ? std::string("No official size of this task fits as placed; use --device cpu (slow), or a GPU "
                                  "with more memory")
                    : str("Sizes that fit with ", frames, " frames as placed: ", fits));
}

bool needs_expert_offload(const TaskConfig& task, const WanDiTConfig& dit, int64_t frames, int64_t free_bytes,
                          const GpuPlacement& placement) {
  if (!task.two_experts) return false;
  const auto size = *std::max_element(task.sizes.begin(), task.sizes.end(), [](const auto& a, const auto& b) {
    return a.first * a.second < b.first * b.second;
  });
  GpuPlacement both = placement, one = placement;
  both.offload_experts = false;
  one.offload_experts = true;
  return plan_gpu_memory(task, dit, size.first, size.second, frames, both).peak() > free_bytes &&
         plan_gpu_memory(task, dit, size.first, size.second, frames, one).peak() <= free_bytes;
}

}  // namespace wan

// The Wan DiT forward on the GPU (bf16 weights and matrix products, f32 residual stream and
// modulation, attention through ops::attention: cuDNN's or our Hopper kernel): the precision map
// of wan22-reference.md §2.7. Same interface as the CPU WanDiT, which is its oracle (tests compare
// both with the goldens).
//
// What runs where: everything per token on the GPU, and the time embedding and every block's
// modulation too (f32 arithmetic on bf16 weights, as the official --convert_model_dtype runs
// it); patch gathering and unpatchify as strided copies on the GPU (only the latent crosses the
// bus, f32, each way). Self-attention's q, k,
// v are one product (and cross-attention's k, v), q/k normalised and rotated in place; the FFN
// runs over the tokens in chunks so its hidden activation never exists whole; cross-attention's
// keys and values are computed once per text and kept for the later steps (release_text_cache()
// frees them: the denoising loop does when an expert is done). One departure from
// the official precision map: the head's output projection runs in bf16 here (f32 in the
// official code); the goldens' 1e-2 bound holds with it. Not yet: per-token timesteps that differ
// within a sample (TI2V image-to-video). With set_cuda_graphs(true) (or WAN_CUDA_GRAPHS=1) the
// forward of a shape and text seen before is captured as a CUDA graph and replayed, its tensors in
// memory held for the graphs; off by default: no faster on an H100, more memory in use
// (wan_dit_cuda.cpp says when and why).
//
// Precision::FP8 (core/precision.h): every block's Linear in E4M3 (ops/linear_fp8.h: weights per
// output channel, quantised on the GPU at load; inputs per token) and self-attention in E4M3
// (ops/attention_fp8.h); everything else as in bf16.
//
// Sequence parallel (Ulysses, dist/parallel.h): with a communicator of N ranks each rank keeps
// tokens [r·S/N, (r+1)·S/N) of the padded sequence S (seq_len rounded up to a multiple of N)
// through every per-token op; around self-attention one all-to-all turns its q, k, v rows of all
// heads into all rows of heads [r·H/N, (r+1)·H/N), and one all-to-all turns the attention output
// back; the head's output is gathered at the end, so every rank returns the whole prediction.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/precision.h"
#include "models/wan_dit.h"

namespace wan {
namespace dist {
class Communicator;
}

class WanDiTCuda : public DiTModel {
 public:
  // Loads `folder` (config.json + safetensors) with bf16 weights on the GPU; with Precision::FP8
  // the blocks' Linear weights are quantised to E4M3 there (core/precision.h says what runs how).
  static WanDiTCuda load(const std::string& folder, Precision precision = Precision::BF16);
  // Random weights of any config (N(0, 0.02) matrices, generated on the GPU): for benchmarks at
  // the real sizes without a checkpoint. Speed does not depend on the weights' values.
  static WanDiTCuda random(const WanDiTConfig& config, uint64_t seed, Precision precision = Precision::BF16);
  ~WanDiTCuda();
  WanDiTCuda(WanDiTCuda&&) noexcept;

  const WanDiTConfig& config() const override;
  Precision precision() const;
  // Splits every forward's tokens over the ranks of `group` (all ranks call forward together with
  // the same inputs); null: this GPU alone. The group's size must divide the head count.
  void set_sequence_parallel(std::shared_ptr<const dist::Communicator> group);
  // Inputs and outputs on the host, as WanDiT::forward.
  // With a profiler, the GPU work is attributed to "attention", "matmul", "all-to-all" (with a
  // sequence-parallel group) and "other". An observer gets every block's output, the f32 residual
  // stream [B, rows, D] copied to the host (for error budgets; it costs a copy per block).
  std::vector<Tensor> forward(const std::vector<Tensor>& x, const Tensor& t, const std::vector<Tensor>& context,
                              int64_t seq_len, StreamProfiler* profiler = nullptr,
                              const WanBlockObserver& observer = {}) const;
  std::vector<Tensor> predict(const std::vector<Tensor>& x, const Tensor& t, const std::vector<Tensor>& context,
                              int64_t seq_len) const override {
    return forward(x, t, context, seq_len);
  }
  // (cond, uncond) as two forwards, except that the first block's self-attention (its norm, QKV
  // product, attention and output product), which depends on the latent and timestep alone, runs
  // in the first forward only: the second takes its output, [B, S, D] bf16 kept between the two.
  // The same results bit for bit, one block's self-attention fewer per step (~1% of an A14B
  // step). Two plain forwards with set_guided_sharing(false), WAN_GUIDED_SHARING=0 in the
  // environment, or CUDA graphs on (a graph replays the whole forward).
  std::pair<Tensor, Tensor> predict_guided(const Tensor& x, const Tensor& t, const Tensor& context,
                                           const Tensor& context_null, int64_t seq_len) const override;
  void set_guided_sharing(bool on);
  // Second forwards of predict_guided that took the first block's self-attention from the first.
  int64_t shared_first_attentions() const;
  // The weights to page-locked host memory (copied the first time, kept: they never change) and
  // their GPU memory back to the pool; reload() uploads them again. forward() refuses to run
  // offloaded. pipeline/expert_residency.h swaps T2V-A14B's experts with these.
  void offload() override;  // also drops the cached cross-attention keys and values
  void reload() override;
  bool resident() const override;
  // Frees the cross-attention keys and values kept for the texts seen so far (two at most: a
  // prompt and its negative prompt; a third text replaces the least recently used), and the CUDA
  // graphs captured with them.
  void release_text_cache() const override;
  // Forwards replayed from a captured CUDA graph so far (with capture on: the second and later
  // forwards of a shape and text).
  int64_t replayed_forwards() const;
  // Capture on or off for this model (default: WAN_CUDA_GRAPHS=1 on, else off; off drops the
  // graphs captured so far).
  void set_cuda_graphs(bool on);

 private:
  struct Impl;
  // forward(), with predict_guided's hand-over when `shared` is given: the first block's
  // self-attention output ([B, S, D] bf16, after its output product) is stored there where it is
  // undefined, and taken from there instead of computed where it is defined.
  std::vector<Tensor> run_forward(const std::vector<Tensor>& x, const Tensor& t, const std::vector<Tensor>& context,
                                  int64_t seq_len, StreamProfiler* profiler, const WanBlockObserver& observer,
                                  Tensor* shared) const;
  explicit WanDiTCuda(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace wan

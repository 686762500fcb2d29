// The Wan DiT forward on the GPU (bf16 weights and matrix products, f32 residual stream and
// modulation, cuDNN attention): the precision map of wan22-reference.md §2.7. Same interface as
// the CPU WanDiT, which is its oracle (tests compare both with the goldens).
//
// What runs where: the per-sample time embedding and modulation vectors ([B, 6, D] per block,
// f32, exact) on the host; patch gathering and unpatchify (cheap rearrangements) on the host;
// every per-token stage on the GPU. One departure from the official precision map: the head's
// output projection runs in bf16 here (f32 in the official code); the goldens' 1e-2 bound holds
// with it (3.3e-3). Not yet: per-token timesteps that differ within a sample
// (TI2V image-to-video), a planned workspace and CUDA-graph capture, cached cross-attention K/V.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "models/wan_dit.h"

namespace wan {

class WanDiTCuda : public DiTModel {
 public:
  // Loads `folder` (config.json + safetensors) with bf16 weights on the GPU.
  static WanDiTCuda load(const std::string& folder);
  // Random weights of any config (N(0, 0.02) matrices, generated on the GPU): for benchmarks at
  // the real sizes without a checkpoint. Speed does not depend on the weights' values.
  static WanDiTCuda random(const WanDiTConfig& config, uint64_t seed);
  ~WanDiTCuda();
  WanDiTCuda(WanDiTCuda&&) noexcept;

  const WanDiTConfig& config() const override;
  // Inputs and outputs on the host, as WanDiT::forward.
  // With a profiler, the GPU work is attributed to "attention", "matmul" and "other".
  std::vector<Tensor> forward(const std::vector<Tensor>& x, const Tensor& t, const std::vector<Tensor>& context,
                              int64_t seq_len, StreamProfiler* profiler = nullptr) const;
  std::vector<Tensor> predict(const std::vector<Tensor>& x, const Tensor& t, const std::vector<Tensor>& context,
                              int64_t seq_len) const override {
    return forward(x, t, context, seq_len);
  }

 private:
  struct Impl;
  explicit WanDiTCuda(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace wan

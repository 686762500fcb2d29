// What the denoising loop needs of a DiT, whatever runs it: the CPU reference (WanDiT) or the
// GPU forward (WanDiTCuda). Inputs and outputs are host tensors, as WanDiT::forward takes them.
#pragma once

#include <utility>
#include <vector>

#include "core/tensor.h"
#include "models/wan_dit_config.h"

namespace wan {

class DiTModel {
 public:
  virtual ~DiTModel() = default;
  virtual const WanDiTConfig& config() const = 0;
  virtual std::vector<Tensor> predict(const std::vector<Tensor>& x, const Tensor& t, const std::vector<Tensor>& context,
                                      int64_t seq_len) const = 0;
  // Both predictions of classifier-free guidance for one latent and timestep: (with `context`,
  // with `context_null`). Two predict() calls here; a model may share what the two have in common
  // (the CUDA DiT: its first block's self-attention, which sees no text), with the same results.
  virtual std::pair<Tensor, Tensor> predict_guided(const Tensor& x, const Tensor& t, const Tensor& context,
                                                   const Tensor& context_null, int64_t seq_len) const {
    Tensor cond = predict({x}, t, {context}, seq_len)[0];
    return {std::move(cond), predict({x}, t, {context_null}, seq_len)[0]};
  }
  // Residency, for models on a GPU: offload() moves the weights to host memory and frees their GPU
  // memory; reload() brings them back (predict needs them there). Models that live in host memory
  // anyway (the CPU reference) do nothing and are always resident.
  virtual void offload() {}
  virtual void reload() {}
  virtual bool resident() const { return true; }
  // Frees what the model keeps between forwards of the same text (the CUDA DiT's cross-attention
  // keys and values); the denoising loop calls it when it is done with the model. Later forwards
  // recompute what they need.
  virtual void release_text_cache() const {}
};

}  // namespace wan

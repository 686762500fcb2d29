// What the denoising loop needs of a DiT, whatever runs it: the CPU reference (WanDiT) or the
// GPU forward (WanDiTCuda). Inputs and outputs are host tensors, as WanDiT::forward takes them.
#pragma once

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

// The Wan diffusion transformer (wan/modules/model.py WanModel), forward on the CPU reference.
//
// WanModel.forward(x, t, context, seq_len) for model types t2v and ti2v:
//   x        B latents [C_in, T, H, W] f32 (any float dtype is converted)
//   t        [B] (one timestep per sample) or [B, seq_len] (per token, ti2v); the timestep values
//   context  B text embeddings [L_i, text_dim], L_i <= text_len; zero-padded to text_len before
//            the text embedding and attended in full (no mask), as the official code does
//   seq_len  tokens per sample after padding (>= every sample's F·H'·W'); keys past a sample's
//            true tokens are masked in self-attention
//   returns  B predictions [C_out, T, H, W] f32
// Precision (wan22-reference.md §2.7): this reference runs every matrix product in f32 with double
// accumulation, the time embedding and RoPE in f64, the residual stream and modulation in f32.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "models/dit_model.h"
#include "models/wan_dit_config.h"
#include "models/wan_dit_weights.h"
#include "ops/rope.h"

namespace wan {

// Called with (block index, x [B, seq_len, dim]) after each block; for tests and debugging.
using WanBlockObserver = std::function<void(int64_t, const Tensor&)>;

class WanDiT : public DiTModel {
 public:
  WanDiT(WanDiTConfig config, WanDiTWeights weights);

  // Loads `folder`/config.json and the weights beside it (single file or shards + index.json),
  // converted to f32 for the CPU reference.
  static WanDiT load(const std::string& folder);

  const WanDiTConfig& config() const override { return config_; }
  const WanDiTWeights& weights() const { return weights_; }

  std::vector<Tensor> forward(const std::vector<Tensor>& x, const Tensor& t, const std::vector<Tensor>& context,
                              int64_t seq_len, const WanBlockObserver& observer = {}) const;
  std::vector<Tensor> predict(const std::vector<Tensor>& x, const Tensor& t, const std::vector<Tensor>& context,
                              int64_t seq_len) const override {
    return forward(x, t, context, seq_len);
  }

 private:
  struct TimeEmbedding {
    Tensor e;   // [B, Lm, D]: time_embedding output (the head's modulation input)
    Tensor e0;  // [B, Lm, 6, D]: time_projection output (the blocks' modulation input)
  };
  TimeEmbedding embed_time(const Tensor& t, int64_t batch, int64_t seq_len) const;
  Tensor embed_text(const std::vector<Tensor>& context) const;
  void block_forward(const WanBlockWeights& w, Tensor& x, const Tensor& e0, const Tensor& context,
                     const std::vector<int64_t>& seq_lens, const std::vector<ops::Grid3>& grids) const;
  Tensor self_attention(const WanAttentionWeights& w, const Tensor& x, const std::vector<int64_t>& seq_lens,
                        const std::vector<ops::Grid3>& grids) const;
  Tensor cross_attention(const WanAttentionWeights& w, const Tensor& x, const Tensor& context) const;
  Tensor head(const Tensor& x, const Tensor& e) const;

  WanDiTConfig config_;
  WanDiTWeights weights_;
  ops::RopeTable rope_;
};

}  // namespace wan

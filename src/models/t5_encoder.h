// The UMT5 text encoder (wan/modules/t5.py T5Encoder), forward on the CPU reference.
//
// forward(ids [B, L] int, mask [B, L] int) -> [B, L, dim] f32:
//   x = token_embedding(ids); per block: x += o(attn(RMS1(x))) with the block's relative position
//   bias, x += fc2(fc1(RMS2(x)) · gelu_tanh(gate(RMS2(x)))); out = RMS_final(x).
//   Attention has no 1/√d scaling; keys where mask == 0 are excluded (the official code adds
//   finfo.min to their logits); the mask must be ones followed by zeros, as a tokenizer gives it.
// encode(...) returns, per sample, out[b, :mask[b].sum()]: what the pipeline hands the DiT.
// Precision: the reference computes in f32 (double accumulation), as the golden data does.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/checkpoint.h"
#include "models/t5_config.h"
#include "models/weight_binding.h"

namespace wan {

struct T5BlockWeights {               // T5SelfAttention
  Tensor norm1_weight;                // [dim]
  Tensor attn_q_weight, attn_k_weight, attn_v_weight;  // [dim_attn, dim], no biases
  Tensor attn_o_weight;               // [dim, dim_attn]
  Tensor norm2_weight;                // [dim]
  Tensor ffn_gate_0_weight;           // [dim_ffn, dim] (followed by GELU-tanh)
  Tensor ffn_fc1_weight;              // [dim_ffn, dim]
  Tensor ffn_fc2_weight;              // [dim, dim_ffn]
  Tensor pos_embedding_weight;        // [num_buckets, num_heads] (unless shared_pos)
};

struct T5Weights {
  Tensor token_embedding_weight;      // [vocab, dim]
  Tensor pos_embedding_weight;        // [num_buckets, num_heads] (shared_pos only)
  std::vector<T5BlockWeights> blocks;
  Tensor norm_weight;                 // [dim]
};

std::vector<WeightSlot> t5_weight_slots(T5Weights& weights, const T5Config& config);

// Every block's q, k, v, o, gate, fc1 and fc2: what T5Encoder::hold_block_matrices_in changes.
std::vector<Tensor*> t5_block_matrices(T5Weights& weights);

// An official tensor name (t5_weight_slots) in Hugging Face's naming of the UMT5 encoder
// (transformers' UMT5EncoderModel, which ComfyUI's repackaged umt5_xxl_*.safetensors files keep):
// the same tensors and layouts under other names — a block is layer.0 (layer_norm, SelfAttention
// q/k/v/o and its relative_attention_bias [num_buckets, num_heads]) and layer.1 (layer_norm,
// DenseReluDense: wi_0 the GELU-gated half, the official gate; wi_1 the official fc1; wo fc2);
// the token embedding is `shared`, the last norm `encoder.final_layer_norm`.
std::string t5_hugging_face_name(const std::string& official_name);
// Whether a store names the encoder's tensors as Hugging Face does (its final norm's name).
bool t5_store_uses_hugging_face_names(const TensorStore& store);

// ComfyUI's text encoder files may carry their tokenizer: the SentencePiece model's bytes as a u8
// tensor named "spiece_model". Those bytes, or nullopt where the file at `path` has none.
extern const char* const kT5EmbeddedTokenizer;
std::optional<std::string> t5_embedded_tokenizer(const std::string& path);

// The bidirectional relative-position bucket of rel = key − query (T5RelativeEmbedding._relative_position_bucket).
int64_t t5_relative_bucket(int64_t rel, int64_t num_buckets, int64_t max_dist);

class T5Encoder {
 public:
  T5Encoder(T5Config config, T5Weights weights);
  // Loads a .pth (or safetensors) state dict in the official names or Hugging Face's
  // (t5_hugging_face_name; bf16, fp16, or fp8 with ComfyUI's scales, weight_binding.h); the config
  // comes from config_for(path) unless given.
  // `block_matrices`: the dtype the blocks' matrices are held in (hold_block_matrices_in); BF16
  // from a bf16 file (the official one) reads them as views of the file, with no conversion.
  static T5Encoder load(const std::string& path, DType block_matrices = DType::F32);
  static T5Encoder load(const std::string& path, const T5Config& config, DType block_matrices = DType::F32);

  const T5Config& config() const { return config_; }
  const T5Weights& weights() const { return weights_; }
  // Holds the blocks' matrices (q, k, v, o, gate, fc1, fc2: all but a few KB of the blocks' bytes)
  // in `dtype` from now on. The pipeline holds them in bf16 when the encoder runs
  // on the GPU (where they are rounded to bf16 anyway, as the official bf16 checkpoint stores them):
  // half the host memory, and half the bytes each prompt's encode sends over the bus (9.3 GB
  // instead of 18.5 GB of f32 for the 24 UMT5-XXL layers). The CPU forward converts them back to
  // f32 one at a time as it uses them (exactly: bf16 values are f32 values).
  void hold_block_matrices_in(DType dtype);
  Tensor forward(const Tensor& ids, const Tensor& mask) const;
  // Each sample's first mask-count rows of the output, [n_b, dim] f32 on the host. On CUDA the
  // weights stay on the host and go to the GPU one block at a time as bf16, used and released
  // (the text encoder holds no GPU memory between prompts; the DiTs keep theirs), and each sample
  // runs alone over its n_b real tokens (the same rows as the masked batch: keys past n_b are
  // masked and rows past it are dropped). The precision of the official bf16 encoder: bf16
  // weights and matrix products, norms as WanRMSNorm/T5LayerNorm under bf16 (two roundings); the
  // residual stream and the attention (with its position bias) in f32.
  std::vector<Tensor> encode(const Tensor& ids, const Tensor& mask, Device device = Device::CPU) const;

 private:
  Tensor position_bias(const Tensor& embedding, int64_t length) const;  // [H, L, L]
  std::vector<Tensor> encode_cuda(const Tensor& ids, const std::vector<int64_t>& lens) const;

  T5Config config_;
  T5Weights weights_;
};

}  // namespace wan

// The Wan DiT's weights under their official state-dict names (wan/modules/model.py WanModel).
//
// Each member is one tensor of the official checkpoint; wan_dit_weight_slots() lists them with
// their names and expected shapes in one table, used for loading, for checks and (later) for
// writing converted or random checkpoints.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/checkpoint.h"
#include "models/wan_dit_config.h"
#include "models/weight_binding.h"

namespace wan {

struct WanAttentionWeights {  // WanSelfAttention / WanCrossAttention
  Tensor q_weight, q_bias;    // [D, D], [D]
  Tensor k_weight, k_bias;
  Tensor v_weight, v_bias;
  Tensor o_weight, o_bias;
  Tensor norm_q_weight;       // [D] (qk_norm)
  Tensor norm_k_weight;       // [D]
};

struct WanBlockWeights {  // WanAttentionBlock
  Tensor modulation;      // [1, 6, D]
  WanAttentionWeights self_attn;
  Tensor norm3_weight, norm3_bias;  // [D] (cross_attn_norm: affine LayerNorm before cross-attention)
  WanAttentionWeights cross_attn;
  Tensor ffn_0_weight, ffn_0_bias;  // [F, D], [F]
  Tensor ffn_2_weight, ffn_2_bias;  // [D, F], [D]
};

struct WanDiTWeights {
  Tensor patch_embedding_weight;    // [D, in_dim, pt, ph, pw]
  Tensor patch_embedding_bias;      // [D]
  Tensor text_embedding_0_weight;   // [D, text_dim]
  Tensor text_embedding_0_bias;     // [D]
  Tensor text_embedding_2_weight;   // [D, D]
  Tensor text_embedding_2_bias;     // [D]
  Tensor time_embedding_0_weight;   // [D, freq_dim]
  Tensor time_embedding_0_bias;     // [D]
  Tensor time_embedding_2_weight;   // [D, D]
  Tensor time_embedding_2_bias;     // [D]
  Tensor time_projection_1_weight;  // [6D, D]
  Tensor time_projection_1_bias;    // [6D]
  std::vector<WanBlockWeights> blocks;
  Tensor head_modulation;           // [1, 2, D]
  Tensor head_head_weight;          // [prod(patch)·out_dim, D]
  Tensor head_head_bias;            // [prod(patch)·out_dim]
};


// Every tensor of the config's model, in state-dict order. `weights.blocks` is resized to num_layers.
std::vector<WeightSlot> wan_dit_weight_slots(WanDiTWeights& weights, const WanDiTConfig& config);

// Checks, without reading any weight, that the store holds exactly the config's tensors with the
// right shapes and floating dtypes; the error names the checkpoint file and the tensor.
void check_wan_dit_checkpoint(const TensorStore& store, const WanDiTConfig& config);

// Binds every slot from the store, converted to `dtype`, and fails with a message naming the
// checkpoint and tensor on a missing tensor, a wrong shape, a non-float dtype or an unused leftover.
WanDiTWeights load_wan_dit_weights(const TensorStore& store, const WanDiTConfig& config, DType dtype);

// True for the block Linear weights an FP8 run computes in FP8 (every block's self_attn and
// cross_attn q, k, v, o and ffn.0, ffn.2 `.weight`): 99% of the parameters.
bool is_fp8_block_weight(const std::string& name);

// load_wan_dit_weights for an FP8 run: the block Linear weights (is_fp8_block_weight) that the file
// stores in float8_e4m3fn with one scale or one per output row are bound as stored — E4M3 views of
// the file — with their f32 scales per row in `fp8_row_scales` under the tensor's name
// (read_stored_fp8: no second quantisation); every other tensor converted to `dtype`.
WanDiTWeights load_wan_dit_weights_keeping_fp8(const TensorStore& store, const WanDiTConfig& config, DType dtype,
                                               std::map<std::string, Tensor>& fp8_row_scales);

int64_t wan_dit_parameter_count(const WanDiTConfig& config);

// The config implied by a checkpoint's tensor shapes (wan/modules/model.py WanModel's layers):
// patch_embedding [dim, in_dim, *patch_size], text_embedding.0 [dim, text_dim], time_embedding.0
// [dim, freq_dim], blocks.0.ffn.0 [ffn_dim, dim], head.head [out_dim·prod(patch_size), dim], the
// number of blocks, norm3 and norm_q present or not. What shapes do not carry takes the official
// value: num_heads = dim / 128 (the head dim of every Wan 2.x DiT), text_len 512, eps 1e-6;
// model_type is "ti2v" for 48 input channels (the Wan 2.2 VAE's latents), "i2v" for 36 (refused by
// validate: not supported), else "t2v". For DiT
// files that come without a config.json (single-file DiTs such as ComfyUI's). Throws naming the
// checkpoint when a tensor it needs is missing.
WanDiTConfig infer_wan_dit_config(const TensorStore& store);

// The config of a DiT folder: its config.json, or, when the folder has none, infer_wan_dit_config
// of its weights (said in an info message).
WanDiTConfig wan_dit_config_of_folder(const std::string& folder);

}  // namespace wan

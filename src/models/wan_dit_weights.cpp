#include "models/wan_dit_weights.h"

#include <set>

#include "core/error.h"

namespace wan {
namespace {

void attention_slots(std::vector<WeightSlot>& slots, const std::string& prefix, WanAttentionWeights& a,
                     const WanDiTConfig& c) {
  const int64_t D = c.dim;
  slots.push_back({prefix + ".q.weight", &a.q_weight, {D, D}});
  slots.push_back({prefix + ".q.bias", &a.q_bias, {D}});
  slots.push_back({prefix + ".k.weight", &a.k_weight, {D, D}});
  slots.push_back({prefix + ".k.bias", &a.k_bias, {D}});
  slots.push_back({prefix + ".v.weight", &a.v_weight, {D, D}});
  slots.push_back({prefix + ".v.bias", &a.v_bias, {D}});
  slots.push_back({prefix + ".o.weight", &a.o_weight, {D, D}});
  slots.push_back({prefix + ".o.bias", &a.o_bias, {D}});
  if (c.qk_norm) {
    slots.push_back({prefix + ".norm_q.weight", &a.norm_q_weight, {D}});
    slots.push_back({prefix + ".norm_k.weight", &a.norm_k_weight, {D}});
  }
}

}  // namespace

std::vector<WeightSlot> wan_dit_weight_slots(WanDiTWeights& w, const WanDiTConfig& c) {
  const int64_t D = c.dim, F = c.ffn_dim;
  const auto& p = c.patch_size;
  std::vector<WeightSlot> s;
  s.push_back({"patch_embedding.weight", &w.patch_embedding_weight, {D, c.in_dim, p[0], p[1], p[2]}});
  s.push_back({"patch_embedding.bias", &w.patch_embedding_bias, {D}});
  s.push_back({"text_embedding.0.weight", &w.text_embedding_0_weight, {D, c.text_dim}});
  s.push_back({"text_embedding.0.bias", &w.text_embedding_0_bias, {D}});
  s.push_back({"text_embedding.2.weight", &w.text_embedding_2_weight, {D, D}});
  s.push_back({"text_embedding.2.bias", &w.text_embedding_2_bias, {D}});
  s.push_back({"time_embedding.0.weight", &w.time_embedding_0_weight, {D, c.freq_dim}});
  s.push_back({"time_embedding.0.bias", &w.time_embedding_0_bias, {D}});
  s.push_back({"time_embedding.2.weight", &w.time_embedding_2_weight, {D, D}});
  s.push_back({"time_embedding.2.bias", &w.time_embedding_2_bias, {D}});
  s.push_back({"time_projection.1.weight", &w.time_projection_1_weight, {6 * D, D}});
  s.push_back({"time_projection.1.bias", &w.time_projection_1_bias, {6 * D}});
  w.blocks.resize(size_t(c.num_layers));
  for (int64_t i = 0; i < c.num_layers; ++i) {
    WanBlockWeights& b = w.blocks[size_t(i)];
    const std::string pre = "blocks." + std::to_string(i);
    s.push_back({pre + ".modulation", &b.modulation, {1, 6, D}});
    attention_slots(s, pre + ".self_attn", b.self_attn, c);
    if (c.cross_attn_norm) {
      s.push_back({pre + ".norm3.weight", &b.norm3_weight, {D}});
      s.push_back({pre + ".norm3.bias", &b.norm3_bias, {D}});
    }
    attention_slots(s, pre + ".cross_attn", b.cross_attn, c);
    s.push_back({pre + ".ffn.0.weight", &b.ffn_0_weight, {F, D}});
    s.push_back({pre + ".ffn.0.bias", &b.ffn_0_bias, {F}});
    s.push_back({pre + ".ffn.2.weight", &b.ffn_2_weight, {D, F}});
    s.push_back({pre + ".ffn.2.bias", &b.ffn_2_bias, {D}});
  }
  s.push_back({"head.modulation", &w.head_modulation, {1, 2, D}});
  s.push_back({"head.head.weight", &w.head_head_weight, {c.patch_volume() * c.out_dim, D}});
  s.push_back({"head.head.bias", &w.head_head_bias, {c.patch_volume() * c.out_dim}});
  return s;
}

void check_wan_dit_checkpoint(const TensorStore& store, const WanDiTConfig& config) {
  WanDiTWeights scratch;
  std::set<std::string> expected;
  for (const WeightSlot& slot : wan_dit_weight_slots(scratch, config)) {
    WAN_CHECK(store.contains(slot.name), store.path(), ": missing tensor '", slot.name, "' (expected shape ",
              shape_str(slot.shape), " for ", config.summary(), "); is the checkpoint complete?");
    const Tensor& t = store.get(slot.name);
    WAN_CHECK(t.shape() == slot.shape, store.file_of(slot.name), ": tensor '", slot.name, "' has shape ",
              shape_str(t.shape()), ", but the config (", config.summary(), ") needs ", shape_str(slot.shape));
    WAN_CHECK(dtype_is_floating(t.dtype()), store.file_of(slot.name), ": tensor '", slot.name, "' has dtype ",
              dtype_name(t.dtype()), "; DiT weights must be floating point");
    expected.insert(slot.name);
  }
  std::vector<std::string> leftovers;
  for (const std::string& name : store.names())
    if (!expected.count(name)) leftovers.push_back(name);
  if (!leftovers.empty()) {
    std::string list;
    for (size_t i = 0; i < leftovers.size() && i < 5; ++i) list += (i ? ", " : "") + leftovers[i];
    if (leftovers.size() > 5) list += str(", ... (", leftovers.size(), " in all)");
    fail(store.path(), ": tensors this model does not use: ", list, "; the config (", config.summary(),
         ") does not describe this checkpoint");
  }
}

WanDiTWeights load_wan_dit_weights(const TensorStore& store, const WanDiTConfig& config, DType dtype) {
  check_wan_dit_checkpoint(store, config);
  WanDiTWeights weights;
  for (const WeightSlot& slot : wan_dit_weight_slots(weights, config)) *slot.tensor = store.get(slot.name).to(dtype);
  return weights;
}

int64_t wan_dit_parameter_count(const WanDiTConfig& config) {
  WanDiTWeights scratch;
  int64_t n = 0;
  for (const WeightSlot& slot : wan_dit_weight_slots(scratch, config)) n += shape_numel(slot.shape);
  return n;
}

}  // namespace wan

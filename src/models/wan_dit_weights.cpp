#include "models/wan_dit_weights.h"

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <set>

#include "core/error.h"
#include "core/log.h"

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
  check_weights(store, wan_dit_weight_slots(scratch, config), config.summary());
}

WanDiTWeights load_wan_dit_weights(const TensorStore& store, const WanDiTConfig& config, DType dtype) {
  WanDiTWeights weights;
  bind_weights(store, wan_dit_weight_slots(weights, config), config.summary(), dtype);
  return weights;
}

bool is_fp8_block_weight(const std::string& name) {
  if (name.rfind("blocks.", 0) != 0) return false;
  const size_t dot = name.find('.', 7);
  if (dot == std::string::npos) return false;
  const std::string rest = name.substr(dot);
  for (const char* suffix : {".self_attn.q.weight", ".self_attn.k.weight", ".self_attn.v.weight", ".self_attn.o.weight",
                             ".cross_attn.q.weight", ".cross_attn.k.weight", ".cross_attn.v.weight",
                             ".cross_attn.o.weight", ".ffn.0.weight", ".ffn.2.weight"})
    if (rest == suffix) return true;
  return false;
}

WanDiTWeights load_wan_dit_weights_keeping_fp8(const TensorStore& store, const WanDiTConfig& config, DType dtype,
                                               std::map<std::string, Tensor>& fp8_row_scales) {
  WanDiTWeights weights;
  bind_weights_keeping_fp8(store, wan_dit_weight_slots(weights, config), config.summary(), dtype,
                           is_fp8_block_weight, fp8_row_scales);
  return weights;
}

int64_t wan_dit_parameter_count(const WanDiTConfig& config) {
  WanDiTWeights scratch;
  return parameter_count(wan_dit_weight_slots(scratch, config));
}

WanDiTConfig infer_wan_dit_config(const TensorStore& store) {
  auto shape = [&](const std::string& name, int64_t dims) {
    WAN_CHECK(store.contains(name), store.path(), ": no config.json, and no '", name,
              "' to infer the config from (not a Wan DiT checkpoint?)");
    const Tensor& t = store.get(name);
    WAN_CHECK(t.dim() == dims, store.path(), ": ", name, " is ", t.describe(), "; a Wan DiT's has ", dims,
              " dimensions");
    return t.shape();
  };
  WanDiTConfig c;
  const auto patch = shape("patch_embedding.weight", 5);  // Conv3d [dim, in_dim, pt, ph, pw]
  c.dim = patch[0];
  c.in_dim = patch[1];
  c.patch_size = {patch[2], patch[3], patch[4]};
  const auto text = shape("text_embedding.0.weight", 2);  // [dim, text_dim]
  c.text_dim = text[1];
  c.freq_dim = shape("time_embedding.0.weight", 2)[1];    // [dim, freq_dim]
  c.ffn_dim = shape("blocks.0.ffn.0.weight", 2)[0];       // [ffn_dim, dim]
  const int64_t head_rows = shape("head.head.weight", 2)[0];  // [out_dim · prod(patch), dim]
  WAN_CHECK(head_rows % c.patch_volume() == 0, store.path(), ": head.head.weight has ", head_rows,
            " rows, not a multiple of the patch volume ", c.patch_volume());
  c.out_dim = head_rows / c.patch_volume();
  int64_t layers = 0;
  for (const std::string& name : store.names()) {
    if (name.rfind("blocks.", 0) != 0) continue;
    const size_t end = name.find('.', 7);
    if (end == std::string::npos) continue;
    try {
      layers = std::max<int64_t>(layers, std::stoll(name.substr(7, end - 7)) + 1);
    } catch (const std::exception&) {
    }
  }
  c.num_layers = layers;
  WAN_CHECK(c.dim % 128 == 0, store.path(), ": dim ", c.dim, " is not a multiple of the Wan head dim 128; add the "
            "model's config.json beside the weights");
  c.num_heads = c.dim / 128;
  c.cross_attn_norm = store.contains("blocks.0.norm3.weight");
  c.qk_norm = store.contains("blocks.0.self_attn.norm_q.weight");
  c.model_type = c.in_dim == 48 ? "ti2v" : c.in_dim == 36 ? "i2v" : "t2v";
  c.validate(store.path() + " (config inferred from the weights' shapes)");
  return c;
}

WanDiTConfig wan_dit_config_of_folder(const std::string& folder) {
  const std::filesystem::path config = std::filesystem::path(folder) / "config.json";
  std::error_code ec;
  if (std::filesystem::exists(config, ec)) return WanDiTConfig::from_file(config.string());
  const WanDiTConfig c = infer_wan_dit_config(TensorStore::open(folder));
  static std::mutex mutex;
  static std::set<std::string> told;  // a request is checked, planned and loaded: say it once
  std::lock_guard<std::mutex> lock(mutex);
  if (told.insert(folder).second)
    WAN_LOG_INFO(folder, ": no config.json; the config inferred from the weights' shapes: ", c.summary());
  return c;
}

}  // namespace wan

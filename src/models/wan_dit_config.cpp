#include "models/wan_dit_config.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "io/json_config.h"

namespace wan {
using json = nlohmann::json;

WanDiTConfig WanDiTConfig::t2v_a14b() {
  WanDiTConfig c;
  c.model_type = "t2v";
  c.dim = 5120;
  c.ffn_dim = 13824;
  c.num_heads = 40;
  c.num_layers = 40;
  c.in_dim = 16;
  c.out_dim = 16;
  return c;
}

WanDiTConfig WanDiTConfig::ti2v_5b() {
  WanDiTConfig c;
  c.model_type = "ti2v";
  c.dim = 3072;
  c.ffn_dim = 14336;
  c.num_heads = 24;
  c.num_layers = 30;
  c.in_dim = 48;
  c.out_dim = 48;
  return c;
}

WanDiTConfig WanDiTConfig::from_json(const std::string& text, const std::string& origin) {
  const json j = parse_json_object(text, origin);
  if (j.contains("_class_name") && j["_class_name"] != "WanModel")
    fail(origin, ": _class_name is ", j["_class_name"].dump(), ", not \"WanModel\" (not a Wan DiT checkpoint?)");

  WanDiTConfig c;
  for (const char* key : {"dim", "ffn_dim", "num_heads", "num_layers", "in_dim", "out_dim"})
    if (!j.contains(key))
      WAN_LOG_WARN(origin, ": no '", key, "'; using the official constructor default");
  read_json_key(j, "model_type", c.model_type, origin);
  read_json_key(j, "patch_size", c.patch_size, origin);
  read_json_key(j, "text_len", c.text_len, origin);
  read_json_key(j, "in_dim", c.in_dim, origin);
  read_json_key(j, "dim", c.dim, origin);
  read_json_key(j, "ffn_dim", c.ffn_dim, origin);
  read_json_key(j, "freq_dim", c.freq_dim, origin);
  read_json_key(j, "text_dim", c.text_dim, origin);
  read_json_key(j, "out_dim", c.out_dim, origin);
  read_json_key(j, "num_heads", c.num_heads, origin);
  read_json_key(j, "num_layers", c.num_layers, origin);
  read_json_key(j, "window_size", c.window_size, origin);
  read_json_key(j, "qk_norm", c.qk_norm, origin);
  read_json_key(j, "cross_attn_norm", c.cross_attn_norm, origin);
  read_json_key(j, "eps", c.eps, origin);

  static const std::set<std::string> known = {
      "model_type", "patch_size", "text_len", "in_dim", "dim", "ffn_dim", "freq_dim", "text_dim",
      "out_dim", "num_heads", "num_layers", "window_size", "qk_norm", "cross_attn_norm", "eps"};
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!known.count(it.key()) && it.key().rfind('_', 0) != 0)
      WAN_LOG_WARN(origin, ": ignoring unknown key '", it.key(), "'");
  c.validate(origin);
  return c;
}

WanDiTConfig WanDiTConfig::from_file(const std::string& path) {
  std::ifstream in(path);
  WAN_CHECK(in, path, ": cannot open the DiT config (every DiT folder has a config.json)");
  std::stringstream ss;
  ss << in.rdbuf();
  return from_json(ss.str(), path);
}

void WanDiTConfig::validate(const std::string& origin) const {
  WAN_CHECK(model_type == "t2v" || model_type == "ti2v", origin, ": model_type '", model_type,
            "' is not supported (supported: t2v, ti2v)");
  for (int64_t p : patch_size) WAN_CHECK(p > 0, origin, ": patch_size entries must be positive");
  for (auto [v, name] : {std::pair{text_len, "text_len"}, {in_dim, "in_dim"}, {dim, "dim"}, {ffn_dim, "ffn_dim"},
                         {freq_dim, "freq_dim"}, {text_dim, "text_dim"}, {out_dim, "out_dim"},
                         {num_heads, "num_heads"}, {num_layers, "num_layers"}})
    WAN_CHECK(v > 0, origin, ": ", name, " must be positive, got ", v);
  WAN_CHECK(dim % num_heads == 0, origin, ": dim ", dim, " is not divisible by num_heads ", num_heads);
  WAN_CHECK(head_dim() % 2 == 0 && head_dim() >= 6, origin, ": head dim ", head_dim(),
            " must be even and at least 6 for the 3-D RoPE");
  WAN_CHECK(freq_dim % 2 == 0, origin, ": freq_dim ", freq_dim, " must be even");
  WAN_CHECK(window_size[0] == -1 && window_size[1] == -1, origin,
            ": local attention (window_size other than [-1, -1]) is not supported");
  WAN_CHECK(eps > 0, origin, ": eps must be positive");
}

std::string WanDiTConfig::to_json() const {
  const WanDiTConfig& c = *this;
  const nlohmann::json j = {{"_class_name", "WanModel"},
                            {"model_type", c.model_type},
                            {"patch_size", c.patch_size},
                            {"text_len", c.text_len},
                            {"in_dim", c.in_dim},
                            {"dim", c.dim},
                            {"ffn_dim", c.ffn_dim},
                            {"freq_dim", c.freq_dim},
                            {"text_dim", c.text_dim},
                            {"out_dim", c.out_dim},
                            {"num_heads", c.num_heads},
                            {"num_layers", c.num_layers},
                            {"window_size", c.window_size},
                            {"qk_norm", c.qk_norm},
                            {"cross_attn_norm", c.cross_attn_norm},
                            {"eps", c.eps}};
  return j.dump(2) + "\n";
}

std::string WanDiTConfig::summary() const {
  return str(model_type, " dim ", dim, ", ", num_layers, " layers, ", num_heads, " heads x ", head_dim(), ", ffn ",
             ffn_dim, ", in ", in_dim, ", out ", out_dim, ", text_dim ", text_dim);
}

int64_t wan_dit_ffn_chunk_rows(int64_t rows, int64_t ffn_dim) {
  constexpr int64_t kChunkBytes = int64_t(512) << 20;
  const int64_t chunks = std::max<int64_t>(1, (rows * ffn_dim * 2 + kChunkBytes - 1) / kChunkBytes);
  const int64_t per = (rows + chunks - 1) / chunks;
  return (per + 127) / 128 * 128;
}

}  // namespace wan

#include "models/t5_config.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "io/json_config.h"

namespace wan {

T5Config T5Config::from_json(const std::string& text, const std::string& origin) {
  const nlohmann::json j = parse_json_object(text, origin);
  T5Config c;
  auto read = [&](const char* key, auto& out) { read_json_key(j, key, out, origin); };
  read("vocab", c.vocab);
  read("dim", c.dim);
  read("dim_attn", c.dim_attn);
  read("dim_ffn", c.dim_ffn);
  read("num_heads", c.num_heads);
  read("num_layers", c.num_layers);
  read("num_buckets", c.num_buckets);
  read("max_dist", c.max_dist);
  read("shared_pos", c.shared_pos);
  read("eps", c.eps);
  c.validate(origin);
  return c;
}

T5Config T5Config::for_checkpoint(const std::string& checkpoint_path) {
  const std::filesystem::path p(checkpoint_path);
  const std::filesystem::path json = p.parent_path() / (p.stem().string() + ".json");
  if (!std::filesystem::exists(json)) return umt5_xxl();
  std::ifstream in(json);
  WAN_CHECK(in, json.string(), ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  WAN_LOG_INFO("T5 config from ", json.string());
  return from_json(ss.str(), json.string());
}

void T5Config::validate(const std::string& origin) const {
  for (auto [v, name] : {std::pair{vocab, "vocab"}, {dim, "dim"}, {dim_attn, "dim_attn"}, {dim_ffn, "dim_ffn"},
                         {num_heads, "num_heads"}, {num_layers, "num_layers"}, {max_dist, "max_dist"}})
    WAN_CHECK(v > 0, origin, ": ", name, " must be positive, got ", v);
  WAN_CHECK(dim_attn % num_heads == 0, origin, ": dim_attn ", dim_attn, " is not divisible by num_heads ", num_heads);
  WAN_CHECK(num_buckets >= 4 && num_buckets % 2 == 0, origin, ": num_buckets ", num_buckets,
            " must be even and at least 4 (half per direction)");
  WAN_CHECK(max_dist > num_buckets / 4, origin, ": max_dist must exceed num_buckets / 4");
  WAN_CHECK(eps > 0, origin, ": eps must be positive");
}

std::string T5Config::summary() const {
  return str("T5 encoder dim ", dim, ", ", num_layers, " layers, ", num_heads, " heads x ", head_dim(), ", ffn ",
             dim_ffn, ", vocab ", vocab, shared_pos ? ", shared position bias" : "");
}

}  // namespace wan

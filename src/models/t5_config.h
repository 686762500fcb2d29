// The UMT5 encoder's configuration (wan/modules/t5.py umt5_xxl, T5Encoder.__init__).
//
// The defaults are UMT5-XXL as Wan ships it (models_t5_umt5-xxl-enc-bf16.pth). A smaller model
// (tests) is described by a JSON object with the keys of t5.py: vocab, dim, dim_attn, dim_ffn,
// num_heads, num_layers, num_buckets, shared_pos (and optionally max_dist, eps), read from
// `<checkpoint stem>.json` beside the .pth.
#pragma once

#include <cstdint>
#include <string>

namespace wan {

struct T5Config {
  int64_t vocab = 256384;
  int64_t dim = 4096;
  int64_t dim_attn = 4096;
  int64_t dim_ffn = 10240;
  int64_t num_heads = 64;
  int64_t num_layers = 24;
  int64_t num_buckets = 32;
  int64_t max_dist = 128;
  bool shared_pos = false;  // UMT5: each layer has its own relative position embedding
  double eps = 1e-6;

  int64_t head_dim() const { return dim_attn / num_heads; }

  static T5Config umt5_xxl() { return T5Config(); }
  static T5Config from_json(const std::string& text, const std::string& origin);
  // `<stem>.json` beside the checkpoint when it exists, else UMT5-XXL.
  static T5Config for_checkpoint(const std::string& checkpoint_path);
  void validate(const std::string& origin = "T5 config") const;
  std::string summary() const;
};

}  // namespace wan

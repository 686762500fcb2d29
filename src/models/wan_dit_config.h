// The Wan DiT's configuration (wan/modules/model.py WanModel.__init__, checkpoint config.json).
//
// Official checkpoints' config.json store dim, eps, ffn_dim, freq_dim, in_dim, model_type,
// num_heads, num_layers, out_dim and text_len; patch_size, cross_attn_norm, qk_norm, text_dim and
// window_size are in the model's ignore_for_config and always take the constructor defaults
// ((1,2,2), true, true, 4096, (-1,-1)). A key a file omits takes the constructor's default, as
// diffusers' from_pretrained does; the members below are those defaults. The real models are
// t2v_a14b() (each of the two experts) and ti2v_5b().
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace wan {

struct WanDiTConfig {
  std::string model_type = "t2v";  // "t2v" or "ti2v" (i2v/s2v are not supported yet)
  std::array<int64_t, 3> patch_size{1, 2, 2};
  int64_t text_len = 512;
  int64_t in_dim = 16;
  int64_t dim = 2048;
  int64_t ffn_dim = 8192;
  int64_t freq_dim = 256;
  int64_t text_dim = 4096;
  int64_t out_dim = 16;
  int64_t num_heads = 16;
  int64_t num_layers = 32;
  std::array<int64_t, 2> window_size{-1, -1};
  bool qk_norm = true;
  bool cross_attn_norm = true;
  double eps = 1e-6;

  int64_t head_dim() const { return dim / num_heads; }
  int64_t patch_volume() const { return patch_size[0] * patch_size[1] * patch_size[2]; }

  static WanDiTConfig t2v_a14b();  // dim 5120, 40 layers, 40 heads, ffn 13824, in/out 16
  static WanDiTConfig ti2v_5b();   // dim 3072, 30 layers, 24 heads, ffn 14336, in/out 48

  // Parses a config.json text; `origin` names the file in messages. Validates the result.
  static WanDiTConfig from_json(const std::string& text, const std::string& origin);
  static WanDiTConfig from_file(const std::string& path);
  std::string to_json() const;  // config.json as the official checkpoints write it (every key)

  // Throws a clear error for values this engine cannot run.
  void validate(const std::string& origin = "config") const;
  std::string summary() const;  // "t2v dim 5120, 40 layers, 40 heads x 128, ffn 13824, in 16, out 16"
};

// Rows of the FFN's hidden activation [rows, ffn_dim] bf16 the GPU DiT keeps at once: it runs the
// FFN over a sample's tokens in chunks of about 512 MiB of that activation, so the 2-3 GB
// intermediate at 720p never exists whole (products of >= 16k rows keep the card's rate). A
// multiple of 128; the memory plan counts one chunk.
int64_t wan_dit_ffn_chunk_rows(int64_t rows, int64_t ffn_dim);

}  // namespace wan

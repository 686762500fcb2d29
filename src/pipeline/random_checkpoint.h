// A checkpoint folder in the official layout with random weights, at the real sizes or any other
// config: loading and whole runs can then be tested and timed at the real size without
// downloading anything (the GPU machine has no internet). The file formats are the official ones:
// the DiT in fp32 safetensors shards with config.json and an index (or, asked for, one fp8_scaled
// file per DiT), the text encoder as a bf16 .pth, the VAE as an f32 .pth. Values: biases 0, norm gains 1, everything else N(0, 0.02), from
// `seed`. The tokenizer is not random: a SentencePiece model given by the caller is placed as
// google/umt5-xxl/spiece.model (the real vocabulary is not needed to exercise the engine).
// Small configs are written as `<stem>.json` beside the .pth files, as the tests' tiny models are.
#pragma once

#include <cstdint>
#include <string>

#include "models/t5_encoder.h"
#include "models/wan_dit_weights.h"
#include "pipeline/convert_checkpoint.h"

namespace wan {

struct RandomCheckpointOptions {
  std::string task = "t2v-A14B";  // or ti2v-5B
  std::string dit_config_json;    // empty: the task's official DiT config
  int64_t dit_layers = 0;         // > 0: this many blocks (the widths stay)
  std::string t5_config_json;     // empty: UMT5-XXL
  int64_t t5_layers = 0;          // > 0: this many encoder layers
  std::string vae_config_json;    // empty: the task's official VAE
  std::string tokenizer_model;    // a spiece.model file (required)
  DType dit_dtype = DType::F32;   // the official shards are fp32
  // Each DiT as one file in ComfyUI's "fp8_scaled" form instead: block Linear weights in E4M3 with
  // an f32 `scale_weight` each (6 standard deviations of the draw at 448), the other tensors bf16,
  // no config.json (the loader infers it), as a downloaded `..._fp8_scaled.safetensors` expert is
  // dropped into its folder.
  bool dit_fp8_scaled = false;
  uint64_t seed = 1;
  int64_t shard_bytes = int64_t(5) << 30;
};

// Writes the folder `dst` (which must not exist), built under a temporary name and renamed.
ConvertReport write_random_checkpoint(const std::string& dst, const RandomCheckpointOptions& options);

// One DiT folder (config.json + safetensors shards in `dtype`) of `config` with the same kind of
// random values as random_wan_dit_weights(config, seed); `dst` must not exist.
ConvertReport write_random_dit(const std::string& dst, const WanDiTConfig& config, uint64_t seed,
                               DType dtype = DType::BF16);

// A text encoder of `config` with the same kind of random weights, in memory (bf16 values, as
// the official .pth holds them).
// `block_matrices`: the dtype its blocks' matrices are held in (T5Encoder::hold_block_matrices_in);
// the values are bf16 ones either way.
T5Encoder random_t5_encoder(const T5Config& config, uint64_t seed, DType block_matrices = DType::F32);
// DiT weights of `config` with the same kind of random values, in memory (bf16 values in f32).
WanDiTWeights random_wan_dit_weights(const WanDiTConfig& config, uint64_t seed);

}  // namespace wan

// wan convert: a checkpoint written once in the compute dtype, for fast reloads. The official
// DiT shards are fp32 (an A14B expert is ~57 GB); in bf16 they are half the bytes to read, and
// the values the engine computes with are the same (its GPU weights are bf16 either way).
//
// `src` is a folder in the official layout (T2V-A14B or TI2V-5B) or one DiT folder (config.json +
// safetensors). `dst` gets the same layout: each DiT's tensors converted to `dtype` in shards of
// at most `shard_bytes` (one file, or `diffusion_pytorch_model-0000k-of-0000n.safetensors` with an
// index.json like the official ones), its config.json, and every other file of the folder (text
// encoder, VAE, tokenizer) hard-linked, or copied where links are not possible. The folder is
// built under a temporary name and renamed when complete; `dst` must not exist.
// `dtype` F8_E4M3 ("fp8"): each DiT's block Linear weights as an FP8 run computes with them (E4M3
// values per output row, quantised from bf16 exactly as the GPU quantises at load, or an FP8
// source's own values) with a `scale_weight` [rows, 1] f32 beside each, everything else bf16: an
// A14B expert in 14.5 GB, loaded by an FP8 run as it is (the same forward, bit for bit) and by a
// bf16 run dequantised.
#pragma once

#include <cstdint>
#include <string>

#include <filesystem>
#include <functional>
#include <vector>

#include "core/tensor.h"

namespace wan {

struct ConvertReport {
  int64_t dit_folders = 0, tensors = 0, shards = 0;
  int64_t bytes_read = 0, bytes_written = 0;  // DiT tensors
  int64_t other_files = 0;                    // linked or copied as they are
};

// Writes a DiT's tensors (`names`, each made by `produce`, `bytes_of` it in the output) into
// `dst` as `diffusion_pytorch_model.safetensors` or shards of at most `shard_bytes` with the
// official index.json; counts into `report`. Tensors of a shard are made in parallel.
void write_dit_shards(const std::filesystem::path& dst, const std::vector<std::string>& names,
                      const std::function<int64_t(const std::string&)>& bytes_of,
                      const std::function<Tensor(const std::string&)>& produce, int64_t shard_bytes,
                      ConvertReport& report);

ConvertReport convert_checkpoint(const std::string& src, const std::string& dst, DType dtype = DType::BF16,
                                 int64_t shard_bytes = int64_t(5) << 30);

}  // namespace wan

// The DiT's compute precision on the GPU (issue 8):
//   BF16: bf16 weights, matrix products and attention, f32 residual stream (the official
//         --convert_model_dtype arithmetic).
//   FP8:  the blocks' Linear weights in E4M3 with a scale per output channel, their inputs
//         quantised per token, self-attention in E4M3 (cuDNN's or ours); embeddings, modulation, norms,
//         cross-attention and the head stay bf16 (docs/performance.md has the measured error).
//         Needs FP8 tensor cores: compute capability 8.9 (Ada) or later. The attention needs 9.0
//         (cuDNN's FP8 attention and ours are Hopper's): on Ada it stays bf16.
#pragma once

#include <optional>
#include <string>

namespace wan {

enum class Precision { BF16, FP8 };

inline const char* precision_name(Precision p) { return p == Precision::FP8 ? "fp8" : "bf16"; }

// What of FP8 runs on a GPU of compute capability `cc` (10·major + minor): the matrix products from
// 8.9 (Ada's E4M3 tensor cores), the self-attention too from 9.0 (Hopper).
inline bool fp8_products_supported(int cc) { return cc >= 89; }
inline bool fp8_attention_supported(int cc) { return cc >= 90; }

// "bf16" or "fp8" (also "fp8_e4m3"); nullopt otherwise.
inline std::optional<Precision> parse_precision(const std::string& s) {
  if (s == "bf16") return Precision::BF16;
  if (s == "fp8" || s == "fp8_e4m3") return Precision::FP8;
  return std::nullopt;
}

}  // namespace wan

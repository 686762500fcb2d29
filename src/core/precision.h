// The DiT's compute precision on the GPU (issue 8):
//   BF16: bf16 weights, matrix products and attention, f32 residual stream (the official
//         --convert_model_dtype arithmetic).
//   FP8:  the blocks' Linear weights in E4M3 with a scale per output channel, their inputs
//         quantised per token, self-attention in E4M3 (cuDNN); embeddings, modulation, norms,
//         cross-attention and the head stay bf16 (docs/performance.md has the measured error).
//         Needs FP8 tensor cores: compute capability 8.9 (Ada) or later; the attention needs 9.0.
#pragma once

#include <optional>
#include <string>

namespace wan {

enum class Precision { BF16, FP8 };

inline const char* precision_name(Precision p) { return p == Precision::FP8 ? "fp8" : "bf16"; }

// "bf16" or "fp8" (also "fp8_e4m3"); nullopt otherwise.
inline std::optional<Precision> parse_precision(const std::string& s) {
  if (s == "bf16") return Precision::BF16;
  if (s == "fp8" || s == "fp8_e4m3") return Precision::FP8;
  return std::nullopt;
}

}  // namespace wan

// Per-task defaults of the official configs (wan/configs/wan_t2v_A14B.py, wan_ti2v_5B.py,
// shared_config.py; wan22-reference.md §1).
#pragma once

#include <array>
#include <string>
#include <utility>
#include <vector>

#include "models/wan_dit_config.h"

namespace wan {

struct TaskConfig {
  std::string name;                 // "t2v-A14B" or "ti2v-5B"
  bool two_experts;                 // high_noise_model/ + low_noise_model/ (A14B)
  double boundary;                  // high-noise expert while t >= boundary · 1000 (A14B: 0.875)
  int64_t z_dim;                    // latent channels
  std::array<int64_t, 3> vae_stride;  // (T, H, W)
  std::array<int64_t, 3> patch{1, 2, 2};
  const char* vae_file;             // Wan2.1_VAE.pth / Wan2.2_VAE.pth
  int64_t fps;
  int64_t frame_num;
  int64_t steps;
  double shift;
  double guide_low, guide_high;     // sample_guide_scale (low_noise, high_noise); equal for 5B
  std::pair<int64_t, int64_t> default_size;            // (W, H)
  std::vector<std::pair<int64_t, int64_t>> sizes;      // the officially supported (W, H)
};

// "t2v-A14B" or "ti2v-5B" (case-insensitive); throws with the supported names otherwise.
const TaskConfig& task_config(const std::string& name);

// The task's official DiT config (both A14B experts share theirs), for work without a checkpoint.
WanDiTConfig official_dit_config(const TaskConfig& task);

extern const char* const kT5Checkpoint;   // models_t5_umt5-xxl-enc-bf16.pth
extern const char* const kT5Tokenizer;    // google/umt5-xxl
extern const char* const kDefaultNegativePrompt;
constexpr int64_t kTextLen = 512;
constexpr int64_t kNumTrainTimesteps = 1000;

}  // namespace wan

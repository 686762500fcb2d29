// Text to video from an official checkpoint folder (wan/text2video.py WanT2V for T2V-A14B, the
// text-only path of wan/textimage2video.py for TI2V-5B): tokenize and encode the prompt and the
// negative prompt, draw the noise, denoise, decode with the VAE and stream the frames out.
//
// Folder layout (wan22-reference.md §1.4): models_t5_umt5-xxl-enc-bf16.pth, google/umt5-xxl/,
// Wan2.1_VAE.pth (A14B) or Wan2.2_VAE.pth (5B), and high_noise_model/ + low_noise_model/ (A14B)
// or the DiT's config.json + safetensors in the folder itself (5B); ComfyUI's text encoder and VAE
// files may stand in for the official ones (pipeline/checkpoint_files.h). Small test models keep
// their configs in `<stem>.json` beside the weight files.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/precision.h"
#include "core/tensor.h"
#include "models/wan_dit_config.h"
#include "pipeline/task_config.h"
#include "sampling/schedule.h"

namespace wan {
namespace dist {
struct ProcessGroup;
}

struct GenerateParams {
  int64_t width = 0, height = 0;  // pixels
  int64_t frames = 0;             // 4n + 1
  int64_t steps = 0;
  double shift = 0;
  Solver solver = Solver::UniPC;
  double guide_low = 0, guide_high = 0;
  uint64_t seed = 0;
  std::string prompt;
  std::string negative_prompt;  // empty: the official default negative prompt
};

// The task of a folder in the official layout: two expert subfolders → t2v-A14B, a ti2v DiT
// config in the folder → ti2v-5B. Throws naming what is missing.
std::string detect_task(const std::string& folder);

// Throws an error naming every missing file of the task's layout.
void check_checkpoint_folder(const std::string& folder, const TaskConfig& task);

// The DiT config of a folder in the official layout (the low-noise expert's for A14B).
WanDiTConfig dit_config_of(const std::string& folder, const TaskConfig& task);

// Fills unset (zero) fields from the task's defaults, then validates: frame count 4n+1, sizes
// multiples of the latent grid (16 for A14B, 32 for 5B), positive steps and shift. Sizes outside
// the official list give a warning, not an error.
GenerateParams resolve_params(const TaskConfig& task, GenerateParams params);

struct GenerateCallbacks {
  std::function<void(const std::string& stage)> on_stage;  // "text encoder", "denoising", "decoding"
  std::function<bool(int64_t step, int64_t total, int64_t timestep, bool high_noise)> on_step;  // false: stop
  std::function<void(const Tensor& frames)> on_frames;     // [3, t, H, W] in [−1, 1], as decoded
  std::function<bool()> should_stop;                       // polled between decoded chunks
};

class TextToVideo {
 public:
  // `device` CUDA runs the DiTs, the VAE decoder and (unless set_text_encoder_device(CPU)) the
  // text encoder on the GPU. With a process group of several ranks (dist/parallel.h; CUDA only) every rank
  // loads the DiTs, and only rank 0 the text encoder and the VAE: it encodes the prompts for all
  // and alone decodes; generate() on the other ranks returns after the last step, with no frames.
  // `vae_activations`: the GPU VAE decoder's activations, bf16 or f32 (WanVAE::to); the CPU's are f32.
  // `offload_experts` (T2V-A14B on CUDA): one expert on the GPU at a time, the other in page-locked
  // host memory (pipeline/expert_residency.h). `precision`: the DiTs' on CUDA (core/precision.h);
  // FP8 on the CPU is refused (the CPU path is the f32 reference).
  static TextToVideo load(const std::string& folder, const std::string& task = "", Device device = Device::CPU,
                          std::shared_ptr<const dist::ProcessGroup> group = nullptr,
                          DType vae_activations = DType::BF16, bool offload_experts = false,
                          Precision precision = Precision::BF16);
  ~TextToVideo();
  TextToVideo(TextToVideo&&) noexcept;

  // Random weights at the task's real sizes (the DiTs and the VAE made on the GPU, the text
  // encoder with `t5_layers` layers made on the CPU and run where a loaded one would, the tokenizer
  // from `tokenizer_model`): whole runs timed at the real size with no checkpoint on disk (`wan
  // bench e2e --random`). The other arguments as for load(). CUDA only.
  static TextToVideo random(const std::string& task, int64_t t5_layers, const std::string& tokenizer_model,
                            std::shared_ptr<const dist::ProcessGroup> group = nullptr, uint64_t seed = 1,
                            bool offload_experts = false, Precision precision = Precision::BF16,
                            DType vae_activations = DType::BF16);

  // Where the text encoder runs: the pipeline's device by default (on CUDA one layer at a time,
  // holding no GPU memory between prompts); Device::CPU is the official --t5_cpu.
  void set_text_encoder_device(Device device);

  const TaskConfig& task() const;
  // False on the ranks of a process group other than 0: they hand out no frames.
  bool produces_frames() const;
  // Runs the whole pipeline; throws Cancelled if a callback asks to stop.
  void generate(const GenerateParams& params, const GenerateCallbacks& callbacks);

 private:
  struct Impl;
  explicit TextToVideo(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Draws standard normal noise of `shape` from `seed` (not torch.randn's stream: the same seed
// gives the same video with this engine, not with the official code).
Tensor seeded_noise(const Shape& shape, uint64_t seed);

}  // namespace wan

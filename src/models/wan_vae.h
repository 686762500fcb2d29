// The Wan video VAEs: Wan 2.1 (wan/modules/vae2_1.py, T2V-A14B: 16 latent channels, stride
// 4x8x8) and Wan 2.2 (vae2_2.py, TI2V-5B: 48 channels, 2x2 patchify, stride 4x16x16), decode and
// encode on the CPU reference, chunk by chunk as the official code does, and on the GPU (to():
// channels-last, bf16 or f32 activations).
//
// decode(z [z_dim, T, h, w]): z / (1/std) + mean per channel, conv2 (1x1x1) on the whole latent,
//   then one latent frame at a time through the decoder with the causal caches (latent frame 0 →
//   1 frame, each later one → 4), (2.2: unpatchify), clamp to [−1, 1]. Each chunk goes to the sink
//   as soon as the next one is queued on the GPU (its copy to the host overlaps that work; the last
//   when decoding ends), so memory holds two chunks, not the video.
// encode(video [3, F, H, W], F = 1 + 4k): (2.2: patchify) frames 0, 1–4, 5–8, ... through the
//   encoder with the caches, conv1, the first z_dim channels (mu), (mu − mean) · (1/std).
// The object holds the caches: one encode or decode at a time.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "models/vae_layers.h"

namespace wan {

struct WanVAEConfig {
  int version = 21;  // 21: Wan2.1_VAE.pth; 22: Wan2.2_VAE.pth
  int64_t dim = 96;
  int64_t dec_dim = 96;  // decoder width (2.2: 256)
  int64_t z_dim = 16;
  std::vector<int64_t> dim_mult{1, 2, 4, 4};
  int64_t num_res_blocks = 2;
  std::vector<double> attn_scales{};
  std::vector<bool> temperal_downsample{false, true, true};
  std::vector<float> latent_mean, latent_std;  // z_dim each: the real model's constants

  static WanVAEConfig wan21();
  static WanVAEConfig wan22();
  // The JSON of vae2_x.py's constructor arguments (dim, z_dim, dim_mult, num_res_blocks,
  // attn_scales, temperal_downsample, dec_dim); the latent constants stay the real model's.
  static WanVAEConfig from_json(const std::string& text, const std::string& origin, int version);
  void validate(const std::string& origin = "VAE config") const;

  int64_t image_channels() const { return version == 22 ? 12 : 3; }  // after patchify
  int64_t spatial_stride() const;   // 8 (2.1) or 16 (2.2) for the real configs
  int64_t temporal_stride() const;  // 4
  std::string summary() const;
};

class WanVAE {
 public:
  explicit WanVAE(WanVAEConfig config);
  ~WanVAE();
  WanVAE(WanVAE&&) noexcept;

  // Loads a .pth; the version is detected from the tensor names; the config is `<stem>.json`
  // beside the file when it exists, else the real model's.
  static WanVAE load(const std::string& path);
  static WanVAE load(const std::string& path, const WanVAEConfig& config);
  static int detect_version(const std::string& path);
  // Random weights of any config on `device` (N(0, 0.02) tensors, norm gains 1): for benchmarks
  // at the real sizes without a checkpoint.
  static WanVAE random(const WanVAEConfig& config, uint64_t seed, Device device);
  // Parameters of a config (encoder and decoder), without loading anything.
  static int64_t parameter_count(const WanVAEConfig& config);
  // Every tensor of the model (official state-dict names and shapes), for writing checkpoints.
  std::vector<WeightSlot> weight_slots() { return slots(); }

  const WanVAEConfig& config() const { return config_; }

  // Moves the weights to `device` and sets the dtype decode's activations take there: on the CPU
  // f32 (the reference); on the GPU bf16 (convolutions at the bf16 tensor-core rate, half the
  // memory) or f32 (TF32 convolutions, as the official f32 VAE runs under PyTorch's defaults), in
  // channels-last either way. Frames still arrive on the host as f32. bf16 on the CPU emulates the
  // GPU's bf16 storage in f32 arithmetic (vae_layers.h), to measure it. Encode runs on the same
  // device: the video comes from the host chunk by chunk, the latent goes back to the host as f32.
  // Moving a bf16 VAE back to the CPU keeps its bf16-rounded convolution weights.
  void to(Device device, DType activations = DType::F32);
  Device device() const { return device_; }
  DType activation_dtype() const { return activations_; }

  using FrameSink = std::function<void(const Tensor& frames)>;  // [3, t, H, W], clamped, on the host
  void decode(const Tensor& z, const FrameSink& sink);
  Tensor decode(const Tensor& z);  // all frames, [3, F, H, W]
  Tensor encode(const Tensor& video);

 private:
  struct Net;
  std::vector<WeightSlot> slots();
  void reset();
  void prepare_layers();  // each layer's prepare(activations_)

  WanVAEConfig config_;
  std::unique_ptr<Net> net_;
  Device device_ = Device::CPU;
  DType activations_ = DType::F32;
};

}  // namespace wan

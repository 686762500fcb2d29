// Building blocks of the Wan 2.1 and 2.2 video VAEs (wan/modules/vae2_1.py, vae2_2.py), evaluated
// one temporal chunk at a time with the official causal caches.
//
// Every layer takes a chunk x [C, t, H, W] and returns the chunk's output: on the CPU contiguous
// f32 (the reference); on the GPU channels-last (Tensor::is_channels_last, cuDNN's NDHWC) in the
// activation dtype prepare() chose, bf16 or f32, with f32 arithmetic inside each op. Prepared for
// bf16 on the CPU, the layers emulate the GPU's bf16 storage: f32 arithmetic with the convolution
// weights, inputs and outputs and the residual sums rounded to bf16, to measure what bf16 costs
// (tests bound the GPU's bf16 path by it). Layers with
// temporal context keep their own cache (the official code keeps the same state in a shared
// feat_cache list, indexed in traversal order). reset() clears it before and after a video.
// Cache semantics (wan22-reference.md §6.1):
//  - CausalConv3d with kernel_t 3: an ordinary causal convolution over the whole sequence with
//    two zero frames in front; the cache is the last two input frames seen.
//  - Resample upsample3d: the first chunk skips time_conv; later chunks run the causal time_conv
//    (on the frames from chunk 1 on) and interleave its two channel halves into two frames each.
//  - Resample downsample3d: the first chunk passes; later chunks prepend the previous chunk's
//    last frame and run the stride-2 time_conv.
//  - DupUp3D (2.2) drops its first factor_t − 1 frames on the first chunk.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/tensor.h"
#include "models/weight_binding.h"

namespace wan::vae {

// For benchmarks: while set (not null), the layers mark "convolution" (cuDNN and its bias pass) and
// "other" regions on this profiler's stream. One decode at a time.
void set_profiler(StreamProfiler* profiler);

class Layer {
 public:
  virtual ~Layer() = default;
  virtual Tensor forward(const Tensor& x, bool first_chunk) = 0;
  virtual void reset() {}
  // Puts the layer's convolution weights (already on their device, f32) in the layout and dtype the
  // device's convolution reads (ops::conv3d_weight_layout; on the CPU, bf16 rounds them and turns
  // the emulation on): activations then arrive in `dtype`.
  virtual void prepare(DType dtype) { (void)dtype; }
  // Adds the layer's weights, named under `prefix` ("decoder.upsamples.3."), to `slots`.
  virtual void slots(const std::string& prefix, std::vector<WeightSlot>& slots) = 0;
};

using LayerPtr = std::unique_ptr<Layer>;

// CausalConv3d (vae2_1.py L17–36): Conv3d with spatial zero padding and, for kernel_t > 1, causal
// temporal padding from its cache.
class CausalConv3d : public Layer {
 public:
  CausalConv3d(int64_t in, int64_t out, std::array<int64_t, 3> kernel, std::array<int64_t, 3> padding,
               int64_t stride_t = 1);
  Tensor forward(const Tensor& x, bool first_chunk) override;
  void reset() override { history_ = Tensor(); }
  void prepare(DType dtype) override;
  void slots(const std::string& prefix, std::vector<WeightSlot>& s) override;
  // The convolution of an explicitly padded input, without the cache (downsample3d's time_conv).
  Tensor apply(const Tensor& x_padded) const;
  // forward() in two halves, so that the layer before can write its chunk straight into the input
  // window instead of it being concatenated behind the cache: window() is [in, front + t, H, W]
  // (H, W, device and dtype of `like`) with the cached frames, or zeros, in its first front()
  // frames; the caller fills frames [front, front + t); forward_window() convolves it and keeps its
  // last frames as the cache. front() is the causal padding, 0 for kernel_t 1 (no window needed).
  int64_t front() const { return 2 * padding_[0]; }
  Tensor window(const Tensor& like, int64_t t) const;
  // with_bias false: the output without the bias, which the caller's next op adds as it reads it
  // (bias(): f32 [out] on the layer's device).
  Tensor forward_window(const Tensor& window, bool with_bias = true);
  const Tensor& bias() const { return bias_; }

 private:
  int64_t in_, out_, stride_t_;
  std::array<int64_t, 3> kernel_, padding_;
  Tensor weight_, bias_;
  DType activations_ = DType::F32;
  Tensor history_;  // the last (up to) kernel_t − 1 input frames
};

// RMS_norm (vae2_1.py L39–54), gamma [C,1,1,1] (video) or [C,1,1] (images=True).
class RmsNorm : public Layer {
 public:
  RmsNorm(int64_t dim, bool images) : dim_(dim), images_(images) {}
  Tensor forward(const Tensor& x, bool) override;
  Tensor forward_silu(const Tensor& x);  // the norm and the SiLU after it, in one pass
  // The same, written into out; with `bias`: of x + bias[c] (x a convolution's output without it).
  void forward_silu_into(const Tensor& x, Tensor& out, const Tensor& bias = {});
  void slots(const std::string& prefix, std::vector<WeightSlot>& s) override;

 private:
  int64_t dim_;
  bool images_;
  Tensor gamma_;
};

class SiLU : public Layer {
 public:
  Tensor forward(const Tensor& x, bool) override;
  void slots(const std::string&, std::vector<WeightSlot>&) override {}
};

// Layers in order, with their official indices (`name.0.`, `name.1.`, ...); parameter-free
// layers still take an index, as nn.Sequential numbers them.
class Sequential : public Layer {
 public:
  Sequential& add(LayerPtr layer) {
    layers_.push_back(std::move(layer));
    return *this;
  }
  // An RmsNorm followed by a SiLU runs as one fused op, which writes straight into the input window
  // of a CausalConv3d that follows (past an Identity, the eval-mode Dropout); a CausalConv3d whose
  // output goes to such a norm leaves its bias to the norm.
  Tensor forward(const Tensor& x, bool first_chunk) override;
  // The same; when the last layer is a CausalConv3d and `pending_bias` is not null, its output comes
  // back without the bias, which is put in *pending_bias for the caller to add (undefined otherwise).
  Tensor forward(const Tensor& x, bool first_chunk, Tensor* pending_bias);
  void reset() override;
  void prepare(DType dtype) override;
  void slots(const std::string& prefix, std::vector<WeightSlot>& s) override;
  size_t size() const { return layers_.size(); }

 private:
  std::vector<LayerPtr> layers_;
};

// ResidualBlock (vae2_1.py L186–220): [RMS, SiLU, Conv3, RMS, SiLU, Dropout, Conv3] + shortcut.
class ResidualBlock : public Layer {
 public:
  ResidualBlock(int64_t in, int64_t out);
  Tensor forward(const Tensor& x, bool first_chunk) override;
  void reset() override;
  void prepare(DType dtype) override;
  void slots(const std::string& prefix, std::vector<WeightSlot>& s) override;

 private:
  Sequential residual_;
  std::unique_ptr<CausalConv3d> shortcut_;  // 1x1x1 when in != out
  DType activations_ = DType::F32;
};

// AttentionBlock (vae2_1.py L223–262): per frame, one head over H·W positions. It runs in f32 on
// either device (one block at the smallest resolution; its head dim, 384 or 1024, is past the
// fused bf16 attention's limit), its result added to a bf16 stream in bf16.
class AttentionBlock : public Layer {
 public:
  explicit AttentionBlock(int64_t dim);
  Tensor forward(const Tensor& x, bool first_chunk) override;
  void prepare(DType dtype) override { activations_ = dtype; }
  void slots(const std::string& prefix, std::vector<WeightSlot>& s) override;

 private:
  int64_t dim_;
  RmsNorm norm_;
  Tensor qkv_weight_, qkv_bias_, proj_weight_, proj_bias_;
  DType activations_ = DType::F32;
};

enum class ResampleMode { Upsample2d, Upsample3d, Downsample2d, Downsample3d };

// Resample (vae2_1.py L66–160). `up_out` is the spatial conv's output channels of the upsample
// modes: dim/2 in Wan 2.1, dim in Wan 2.2.
class Resample : public Layer {
 public:
  Resample(int64_t dim, ResampleMode mode, int64_t up_out);
  Tensor forward(const Tensor& x, bool first_chunk) override;
  void reset() override;
  void prepare(DType dtype) override;
  void slots(const std::string& prefix, std::vector<WeightSlot>& s) override;

 private:
  int64_t dim_;
  ResampleMode mode_;
  int64_t conv_out_;
  Tensor conv_weight_, conv_bias_;          // resample.1 (Conv2d 3x3)
  DType activations_ = DType::F32;
  std::unique_ptr<CausalConv3d> time_conv_;  // 3-D modes
  bool seen_first_ = false;                 // upsample3d: the official 'Rep' marker
  Tensor last_frame_;                       // downsample3d: previous chunk's last frame
};

// A parameter-free shortcut of the Wan 2.2 VAE from `in` to `out` channels with time and space
// factors: forward() returns its video; add_to() adds it into the residual sum y without writing
// it (ops/vae_ops.h's fused adds).
class Shortcut : public Layer {
 public:
  Shortcut(int64_t in, int64_t out, int64_t factor_t, int64_t factor_s)
      : in_(in), out_(out), ft_(factor_t), fs_(factor_s) {}
  virtual void add_to(Tensor& y, const Tensor& x, bool first_chunk) = 0;
  Tensor forward(const Tensor& x, bool first_chunk) override;
  void slots(const std::string&, std::vector<WeightSlot>&) override {}

 protected:
  virtual Shape output_shape(const Tensor& x, bool first_chunk) const = 0;
  int64_t in_, out_, ft_, fs_;
};

// AvgDown3D (vae2_2.py L316–367): the shortcut of a Down_ResidualBlock.
class AvgDown3D : public Shortcut {
 public:
  AvgDown3D(int64_t in, int64_t out, int64_t factor_t, int64_t factor_s);
  void add_to(Tensor& y, const Tensor& x, bool first_chunk) override;

 protected:
  Shape output_shape(const Tensor& x, bool first_chunk) const override;
};

// DupUp3D (vae2_2.py L370–412): the shortcut of an Up_ResidualBlock; the first chunk drops its first
// factor_t − 1 frames.
class DupUp3D : public Shortcut {
 public:
  DupUp3D(int64_t in, int64_t out, int64_t factor_t, int64_t factor_s);
  void add_to(Tensor& y, const Tensor& x, bool first_chunk) override;

 protected:
  Shape output_shape(const Tensor& x, bool first_chunk) const override;
};

// Down_ResidualBlock / Up_ResidualBlock (vae2_2.py L415–497): a main Sequential (`downsamples.` or
// `upsamples.`) plus a parameter-free shortcut (AvgDown3D / DupUp3D, or none).
class ShortcutBlock : public Layer {
 public:
  ShortcutBlock(std::string main_name, std::unique_ptr<Sequential> main, std::unique_ptr<Shortcut> shortcut)
      : main_name_(std::move(main_name)), main_(std::move(main)), shortcut_(std::move(shortcut)) {}
  Tensor forward(const Tensor& x, bool first_chunk) override;
  void reset() override { main_->reset(); }
  void prepare(DType dtype) override {
    main_->prepare(dtype);
    activations_ = dtype;
  }
  void slots(const std::string& prefix, std::vector<WeightSlot>& s) override {
    main_->slots(prefix + main_name_ + ".", s);
  }

 private:
  std::string main_name_;
  std::unique_ptr<Sequential> main_;
  std::unique_ptr<Shortcut> shortcut_;
  DType activations_ = DType::F32;
};

}  // namespace wan::vae

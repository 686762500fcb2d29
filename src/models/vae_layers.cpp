#include "models/vae_layers.h"

#include <cmath>

#include "backend/backend.h"
#include "ops/activation.h"
#include "ops/attention.h"
#include "ops/conv.h"
#include "ops/elementwise.h"
#include "ops/linear.h"
#include "ops/vae_ops.h"

namespace wan::vae {
namespace {

StreamProfiler* g_profiler = nullptr;

// What storing t in `dtype` keeps: on the CPU with bf16 (the emulation), t rounded to bf16 and back;
// otherwise t (the GPU stores its activations in their dtype already).
Tensor stored(const Tensor& t, DType dtype) {
  return t.device() == Device::CPU && dtype == DType::BF16 ? t.to(DType::BF16).to(DType::F32) : t;
}

// A convolution weight prepared for `dtype` on its device (see Layer::prepare).
Tensor prepared_weight(const Tensor& w, DType dtype) {
  return w.device() == Device::CPU ? stored(w, dtype) : ops::conv3d_weight_layout(w, dtype);
}

Tensor conv(const Tensor& x, const Tensor& w, const Tensor& b, std::array<int64_t, 3> stride, std::array<int64_t, 4> pad,
            DType dtype) {
  if (g_profiler) g_profiler->region("convolution");
  Tensor y = stored(ops::conv3d(stored(x, dtype), w, b, stride, pad), dtype);
  if (g_profiler) g_profiler->region("other");
  return y;
}

// Every layer runs on the device its input is on (the CPU reference or the GPU): tensors are made
// with the backend's device-agnostic helpers, videos in their device's layout by new_video.

// An uninitialised video [C, T, H, W] on like's device in like's dtype: channels-last on the GPU
// (a time window of it is then one block of memory), contiguous on the CPU.
Tensor new_video(const Shape& shape, const Tensor& like) {
  return like.device() == Device::CUDA ? empty_channels_last_on(shape, like.dtype(), Device::CUDA)
                                       : empty_on(shape, like.dtype(), Device::CPU);
}

// Concatenates [C, t_a, H, W] and [C, t_b, H, W] along time; an undefined `a` counts as empty.
Tensor cat_frames(const Tensor& a, const Tensor& b) {
  if (!a.defined() || a.size(1) == 0) return b;
  Tensor out = new_video({b.size(0), a.size(1) + b.size(1), b.size(2), b.size(3)}, b);
  Tensor front = out.narrow(1, 0, a.size(1)), back = out.narrow(1, a.size(1), b.size(1));
  copy_into(front, a);
  copy_into(back, b);
  return out;
}

// A copy, never a view: caches must not alias a chunk that a later layer modifies in place
// (Down_ResidualBlock adds its shortcut into the Resample's output).
Tensor last_frames(const Tensor& x, int64_t n) {
  const int64_t t = x.size(1);
  const Tensor window = x.narrow(1, std::max<int64_t>(0, t - n), std::min(n, t));
  Tensor out = new_video(window.shape(), x);
  copy_into(out, window);
  return out;
}

// A view of t's memory `offset` elements past t's first, with the given shape and strides.
Tensor strided_view(const Tensor& t, int64_t offset, const Shape& shape, const Shape& strides) {
  return Tensor::from_storage_strided(t.storage(), t.byte_offset() + size_t(offset) * dtype_size(t.dtype()), shape,
                                      strides, t.dtype());
}

// Frames first, first + step, ... of a video (`count` of them), as a strided view.
Tensor strided_frames(const Tensor& v, int64_t first, int64_t step, int64_t count) {
  return strided_view(v, first * v.stride(1), {v.size(0), count, v.size(2), v.size(3)},
                      {v.stride(0), step * v.stride(1), v.stride(2), v.stride(3)});
}

}  // namespace

void set_profiler(StreamProfiler* profiler) { g_profiler = profiler; }

// ---------------------------------------------------------------------------------------------

CausalConv3d::CausalConv3d(int64_t in, int64_t out, std::array<int64_t, 3> kernel, std::array<int64_t, 3> padding,
                           int64_t stride_t)
    : in_(in), out_(out), stride_t_(stride_t), kernel_(kernel), padding_(padding) {}

void CausalConv3d::prepare(DType dtype) {
  weight_ = prepared_weight(weight_, dtype);
  activations_ = dtype;
}

void CausalConv3d::slots(const std::string& prefix, std::vector<WeightSlot>& s) {
  s.push_back({prefix + "weight", &weight_, {out_, in_, kernel_[0], kernel_[1], kernel_[2]}});
  s.push_back({prefix + "bias", &bias_, {out_}});
}

Tensor CausalConv3d::apply(const Tensor& x_padded) const {
  return conv(x_padded, weight_, bias_, {stride_t_, 1, 1}, {padding_[1], padding_[1], padding_[2], padding_[2]},
              activations_);
}

Tensor CausalConv3d::window(const Tensor& like, int64_t t) const {
  const int64_t f = front(), hist = history_.defined() ? history_.size(1) : 0;
  Tensor w = new_video({in_, f + t, like.size(2), like.size(3)}, like);
  if (hist < f) {  // causal: zeros before the first frame (a time window: one block of memory on the GPU)
    Tensor zeros = w.narrow(1, 0, f - hist);
    fill_zero_(zeros);
  }
  if (hist > 0) {
    Tensor cached = w.narrow(1, f - hist, hist);
    copy_into(cached, history_);
  }
  return w;
}

Tensor CausalConv3d::forward_window(const Tensor& window, bool with_bias) {
  history_ = last_frames(window, front());
  return conv(window, weight_, with_bias ? bias_ : Tensor(), {1, 1, 1},
              {padding_[1], padding_[1], padding_[2], padding_[2]}, activations_);
}

Tensor CausalConv3d::forward(const Tensor& x, bool) {
  if (front() == 0)
    return conv(x, weight_, bias_, {1, 1, 1}, {padding_[1], padding_[1], padding_[2], padding_[2]}, activations_);
  Tensor w = window(x, x.size(1));
  Tensor chunk = w.narrow(1, front(), x.size(1));
  copy_into(chunk, x);
  return forward_window(w);
}

// ---------------------------------------------------------------------------------------------

Tensor RmsNorm::forward(const Tensor& x, bool) { return ops::rms_norm_channels(x, gamma_.view({dim_})); }

Tensor RmsNorm::forward_silu(const Tensor& x) { return ops::rms_norm_channels(x, gamma_.view({dim_}), /*silu=*/true); }

void RmsNorm::forward_silu_into(const Tensor& x, Tensor& out, const Tensor& bias) {
  ops::rms_norm_channels_into(x, gamma_.view({dim_}), /*silu=*/true, out, bias);
}

void RmsNorm::slots(const std::string& prefix, std::vector<WeightSlot>& s) {
  s.push_back({prefix + "gamma", &gamma_, images_ ? Shape{dim_, 1, 1} : Shape{dim_, 1, 1, 1}});
}

Tensor SiLU::forward(const Tensor& x, bool) { return ops::silu(x); }

namespace {
class Identity : public Layer {  // nn.Dropout in eval mode
 public:
  Tensor forward(const Tensor& x, bool) override { return x; }
  void slots(const std::string&, std::vector<WeightSlot>&) override {}
};
}  // namespace

Tensor Sequential::forward(const Tensor& x, bool first_chunk) { return forward(x, first_chunk, nullptr); }

Tensor Sequential::forward(const Tensor& x, bool first_chunk, Tensor* pending_bias) {
  // The CausalConv3d that an RmsNorm + SiLU at `i` writes into (past Identity layers), or null.
  auto fused_conv = [&](size_t i, size_t* conv_at) -> CausalConv3d* {
    if (i + 1 >= layers_.size() || !dynamic_cast<RmsNorm*>(layers_[i].get()) ||
        !dynamic_cast<SiLU*>(layers_[i + 1].get()))
      return nullptr;
    size_t j = i + 2;
    while (j < layers_.size() && dynamic_cast<Identity*>(layers_[j].get())) ++j;
    auto* conv = j < layers_.size() ? dynamic_cast<CausalConv3d*>(layers_[j].get()) : nullptr;
    if (!conv || conv->front() == 0) return nullptr;
    *conv_at = j;
    return conv;
  };
  if (pending_bias) *pending_bias = Tensor();
  Tensor h = x, bias;  // bias: the last convolution's, not yet added to h
  for (size_t i = 0; i < layers_.size(); ++i) {
    size_t at = 0;
    if (CausalConv3d* next = fused_conv(i, &at)) {  // norm + SiLU into the convolution's input window
      auto* norm = static_cast<RmsNorm*>(layers_[i].get());
      Tensor w = next->window(h, h.size(1));
      Tensor chunk = w.narrow(1, next->front(), h.size(1));
      norm->forward_silu_into(h, chunk, bias);
      // The bias is left to whoever reads the output next, when that is another fused norm or the caller.
      size_t unused = 0;
      const bool defer = (at + 1 == layers_.size() && pending_bias) || fused_conv(at + 1, &unused);
      h = next->forward_window(w, !defer);
      bias = defer ? next->bias() : Tensor();
      i = at;
      continue;
    }
    if (dynamic_cast<RmsNorm*>(layers_[i].get()) && i + 1 < layers_.size() &&
        dynamic_cast<SiLU*>(layers_[i + 1].get())) {
      h = static_cast<RmsNorm*>(layers_[i].get())->forward_silu(h);
      ++i;
      continue;
    }
    h = layers_[i]->forward(h, first_chunk);
  }
  if (pending_bias) *pending_bias = bias;
  return h;
}

void Sequential::reset() {
  for (auto& l : layers_) l->reset();
}

void Sequential::prepare(DType dtype) {
  for (auto& l : layers_) l->prepare(dtype);
}

void Sequential::slots(const std::string& prefix, std::vector<WeightSlot>& s) {
  for (size_t i = 0; i < layers_.size(); ++i) layers_[i]->slots(prefix + std::to_string(i) + ".", s);
}

// ---------------------------------------------------------------------------------------------

ResidualBlock::ResidualBlock(int64_t in, int64_t out) {
  residual_.add(std::make_unique<RmsNorm>(in, false))
      .add(std::make_unique<SiLU>())
      .add(std::make_unique<CausalConv3d>(in, out, std::array<int64_t, 3>{3, 3, 3}, std::array<int64_t, 3>{1, 1, 1}))
      .add(std::make_unique<RmsNorm>(out, false))
      .add(std::make_unique<SiLU>())
      .add(std::make_unique<Identity>())
      .add(std::make_unique<CausalConv3d>(out, out, std::array<int64_t, 3>{3, 3, 3}, std::array<int64_t, 3>{1, 1, 1}));
  if (in != out) shortcut_ = std::make_unique<CausalConv3d>(in, out, std::array<int64_t, 3>{1, 1, 1}, std::array<int64_t, 3>{0, 0, 0});
}

Tensor ResidualBlock::forward(const Tensor& x, bool first_chunk) {
  const Tensor h = shortcut_ ? shortcut_->forward(x, first_chunk) : x;
  Tensor bias;  // the last convolution's, added here with the residual (one pass over y fewer)
  Tensor y = residual_.forward(x, first_chunk, &bias);
  if (bias.defined()) ops::add_with_channel_bias_(y, bias, h);
  else ops::add_(y, h);
  return stored(y, activations_);
}

void ResidualBlock::reset() { residual_.reset(); }

void ResidualBlock::prepare(DType dtype) {
  activations_ = dtype;
  residual_.prepare(dtype);
  if (shortcut_) shortcut_->prepare(dtype);
}

void ResidualBlock::slots(const std::string& prefix, std::vector<WeightSlot>& s) {
  residual_.slots(prefix + "residual.", s);
  if (shortcut_) shortcut_->slots(prefix + "shortcut.", s);
}

// ---------------------------------------------------------------------------------------------

AttentionBlock::AttentionBlock(int64_t dim) : dim_(dim), norm_(dim, true) {}

void AttentionBlock::slots(const std::string& prefix, std::vector<WeightSlot>& s) {
  norm_.slots(prefix + "norm.", s);
  s.push_back({prefix + "to_qkv.weight", &qkv_weight_, {3 * dim_, dim_, 1, 1}});
  s.push_back({prefix + "to_qkv.bias", &qkv_bias_, {3 * dim_}});
  s.push_back({prefix + "proj.weight", &proj_weight_, {dim_, dim_, 1, 1}});
  s.push_back({prefix + "proj.bias", &proj_bias_, {dim_}});
}

Tensor AttentionBlock::forward(const Tensor& x, bool) {
  const int64_t C = dim_, T = x.size(1), H = x.size(2), W = x.size(3), HW = H * W;
  const Tensor xn = norm_.forward(x, false);  // [C, T, H, W]
  Tensor out = new_video(x.shape(), x);
  copy_into(out, x);
  const Tensor wqkv = qkv_weight_.view({3 * C, C}), wproj = proj_weight_.view({C, C});
  for (int64_t t = 0; t < T; ++t) {
    // [C, H, W] -> tokens [H·W, C]: a view of a channels-last frame, a copy of a contiguous one.
    const Tensor tokens = convert_on_device(contiguous_on_device(xn.select(1, t).permute({1, 2, 0})), DType::F32)
                              .view({HW, C});
    const Tensor qkv = ops::linear(tokens, wqkv, qkv_bias_);  // [HW, 3C]
    auto part = [&](int64_t k) { return contiguous_on_device(qkv.narrow(1, k * C, C)).view({1, HW, 1, C}); };
    const Tensor a = ops::attention(part(0), part(1), part(2), {}, 1.0 / std::sqrt(double(C)));  // [1, HW, 1, C]
    const Tensor y = convert_on_device(ops::linear(a.view({HW, C}), wproj, proj_bias_), out.dtype());  // [HW, C]
    Tensor frame = out.select(1, t).permute({1, 2, 0});  // [H, W, C], a view of out
    Tensor sum = contiguous_on_device(frame);           // frame itself when channels-last
    ops::add_(sum, y.view({H, W, C}));                  // identity + proj(attention)
    if (!frame.is_contiguous()) copy_into(frame, stored(sum, activations_));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

Resample::Resample(int64_t dim, ResampleMode mode, int64_t up_out) : dim_(dim), mode_(mode) {
  const bool up = mode == ResampleMode::Upsample2d || mode == ResampleMode::Upsample3d;
  conv_out_ = up ? up_out : dim;
  if (mode == ResampleMode::Upsample3d)
    time_conv_ = std::make_unique<CausalConv3d>(dim, 2 * dim, std::array<int64_t, 3>{3, 1, 1}, std::array<int64_t, 3>{1, 0, 0});
  if (mode == ResampleMode::Downsample3d)
    time_conv_ = std::make_unique<CausalConv3d>(dim, dim, std::array<int64_t, 3>{3, 1, 1}, std::array<int64_t, 3>{0, 0, 0},
                                                /*stride_t=*/2);
}

void Resample::slots(const std::string& prefix, std::vector<WeightSlot>& s) {
  s.push_back({prefix + "resample.1.weight", &conv_weight_, {conv_out_, dim_, 3, 3}});
  s.push_back({prefix + "resample.1.bias", &conv_bias_, {conv_out_}});
  if (time_conv_) time_conv_->slots(prefix + "time_conv.", s);
}

void Resample::prepare(DType dtype) {
  conv_weight_ = prepared_weight(conv_weight_, dtype);
  activations_ = dtype;
  if (time_conv_) time_conv_->prepare(dtype);
}

void Resample::reset() {
  if (time_conv_) time_conv_->reset();
  seen_first_ = false;
  last_frame_ = Tensor();
}

Tensor Resample::forward(const Tensor& x_in, bool) {
  Tensor x = x_in;
  if (mode_ == ResampleMode::Upsample3d) {
    if (!seen_first_) {
      seen_first_ = true;  // the first chunk keeps its frame count
    } else {
      const Tensor tc = time_conv_->forward(x, false);  // [2C, t, H, W], causal over chunks 1..
      const int64_t C = dim_, t = x.size(1);
      // [2, C, t, H, W] -> [C, 2t, H, W]: half 0 becomes frames 0, 2, ..., half 1 frames 1, 3, ...
      Tensor doubled = new_video({C, 2 * t, x.size(2), x.size(3)}, x);
      for (int64_t half = 0; half < 2; ++half) {
        Tensor dst = strided_frames(doubled, half, 2, t);
        copy_into(dst, tc.narrow(0, half * C, C));
      }
      x = doubled;
    }
  }
  const Tensor w = conv_weight_.unsqueeze(2);  // [O, C, 1, 3, 3]
  Tensor y;
  if (mode_ == ResampleMode::Upsample2d || mode_ == ResampleMode::Upsample3d) {
    y = conv(ops::upsample_nearest_2x(x), w, conv_bias_, {1, 1, 1}, {1, 1, 1, 1}, activations_);
  } else {
    y = conv(x, w, conv_bias_, {1, 2, 2}, {0, 1, 0, 1}, activations_);  // ZeroPad2d((0, 1, 0, 1)), stride 2
  }
  if (mode_ == ResampleMode::Downsample3d) {
    if (!last_frame_.defined()) {
      last_frame_ = last_frames(y, 1);  // the first chunk passes through
    } else {
      const Tensor input = cat_frames(last_frame_, y);
      last_frame_ = last_frames(y, 1);
      y = time_conv_->apply(input);
    }
  }
  return y;
}

// ---------------------------------------------------------------------------------------------

Tensor Shortcut::forward(const Tensor& x, bool first_chunk) {
  Tensor y = new_video(output_shape(x, first_chunk), x);
  fill_zero_(y);
  add_to(y, x, first_chunk);
  return y;
}

AvgDown3D::AvgDown3D(int64_t in, int64_t out, int64_t ft, int64_t fs) : Shortcut(in, out, ft, fs) {
  WAN_CHECK(in * ft * fs * fs % out == 0, "AvgDown3D: ", in, " x ", ft * fs * fs, " is not a multiple of ", out);
}

Shape AvgDown3D::output_shape(const Tensor& x, bool) const {
  return {out_, (x.size(1) + ft_ - 1) / ft_, x.size(2) / fs_, x.size(3) / fs_};
}

void AvgDown3D::add_to(Tensor& y, const Tensor& x, bool) { ops::add_avg_down_3d_(y, x, ft_, fs_); }

DupUp3D::DupUp3D(int64_t in, int64_t out, int64_t ft, int64_t fs) : Shortcut(in, out, ft, fs) {
  WAN_CHECK(out * ft * fs * fs % in == 0, "DupUp3D: ", out, " x ", ft * fs * fs, " is not a multiple of ", in);
}

Shape DupUp3D::output_shape(const Tensor& x, bool first_chunk) const {
  return {out_, x.size(1) * ft_ - (first_chunk ? ft_ - 1 : 0), x.size(2) * fs_, x.size(3) * fs_};
}

void DupUp3D::add_to(Tensor& y, const Tensor& x, bool first_chunk) {
  ops::add_dup_up_3d_(y, x, ft_, fs_, first_chunk ? ft_ - 1 : 0);
}

Tensor ShortcutBlock::forward(const Tensor& x, bool first_chunk) {
  Tensor y = main_->forward(x, first_chunk);  // a new video: nothing else holds it
  if (shortcut_) shortcut_->add_to(y, x, first_chunk);
  return stored(y, activations_);
}

}  // namespace wan::vae

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

// Every layer runs on the device its input is on (the CPU reference or the GPU): tensors are made
// with the backend's device-agnostic helpers.

// Concatenates [C, t_a, H, W] and [C, t_b, H, W] along time; an undefined `a` counts as empty.
Tensor cat_frames(const Tensor& a, const Tensor& b) {
  if (!a.defined() || a.size(1) == 0) return b;
  Tensor out = empty_on({b.size(0), a.size(1) + b.size(1), b.size(2), b.size(3)}, DType::F32, b.device());
  Tensor front = out.narrow(1, 0, a.size(1)), back = out.narrow(1, a.size(1), b.size(1));
  copy_into(front, a);
  copy_into(back, b);
  return out;
}

// A copy, never a view: caches must not alias a chunk that a later layer modifies in place
// (Down_ResidualBlock adds its shortcut into the Resample's output).
Tensor last_frames(const Tensor& x, int64_t n) {
  const int64_t t = x.size(1);
  return clone_on_device(x.narrow(1, std::max<int64_t>(0, t - n), std::min(n, t)));
}

}  // namespace

// ---------------------------------------------------------------------------------------------

CausalConv3d::CausalConv3d(int64_t in, int64_t out, std::array<int64_t, 3> kernel, std::array<int64_t, 3> padding,
                           int64_t stride_t)
    : in_(in), out_(out), stride_t_(stride_t), kernel_(kernel), padding_(padding) {}

void CausalConv3d::slots(const std::string& prefix, std::vector<WeightSlot>& s) {
  s.push_back({prefix + "weight", &weight_, {out_, in_, kernel_[0], kernel_[1], kernel_[2]}});
  s.push_back({prefix + "bias", &bias_, {out_}});
}

Tensor CausalConv3d::apply(const Tensor& x_padded) const {
  return ops::conv3d(x_padded, weight_, bias_, {stride_t_, 1, 1}, {padding_[1], padding_[1], padding_[2], padding_[2]});
}

Tensor CausalConv3d::forward(const Tensor& x, bool) {
  const int64_t front = 2 * padding_[0];  // causal: all temporal padding in front
  if (front == 0) return ops::conv3d(x, weight_, bias_, {1, 1, 1}, {padding_[1], padding_[1], padding_[2], padding_[2]});
  const Tensor seen = cat_frames(history_, x);
  const int64_t hist = history_.defined() ? history_.size(1) : 0;
  const Tensor input = hist >= front ? seen  // [C, front + t, H, W]
                                     : cat_frames(zeros_on({x.size(0), front - hist, x.size(2), x.size(3)}, DType::F32,
                                                           x.device()),
                                                  seen);
  history_ = last_frames(seen, front);
  return ops::conv3d(input, weight_, bias_, {1, 1, 1}, {padding_[1], padding_[1], padding_[2], padding_[2]});
}

// ---------------------------------------------------------------------------------------------

Tensor RmsNorm::forward(const Tensor& x, bool) { return ops::rms_norm_channels(x, gamma_.view({dim_})); }

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

Tensor Sequential::forward(const Tensor& x, bool first_chunk) {
  Tensor h = x;
  for (auto& l : layers_) h = l->forward(h, first_chunk);
  return h;
}

void Sequential::reset() {
  for (auto& l : layers_) l->reset();
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
  Tensor y = residual_.forward(x, first_chunk);
  ops::add_(y, h);
  return y;
}

void ResidualBlock::reset() { residual_.reset(); }

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
  const int64_t C = dim_, T = x.size(1), HW = x.size(2) * x.size(3);
  const Tensor xn = norm_.forward(x, false);  // [C, T, H, W]
  Tensor out = clone_on_device(x);
  const Tensor wqkv = qkv_weight_.view({3 * C, C}), wproj = proj_weight_.view({C, C});
  for (int64_t t = 0; t < T; ++t) {
    const Tensor tokens = contiguous_on_device(contiguous_on_device(xn.select(1, t)).view({C, HW}).permute({1, 0}));
    const Tensor qkv = ops::linear(tokens, wqkv, qkv_bias_);  // [HW, 3C]
    auto part = [&](int64_t k) { return contiguous_on_device(qkv.narrow(1, k * C, C)).view({1, HW, 1, C}); };
    const Tensor a = ops::attention(part(0), part(1), part(2), {}, 1.0 / std::sqrt(double(C)));  // [1, HW, 1, C]
    const Tensor y = ops::linear(a.view({HW, C}), wproj, proj_bias_);  // [HW, C]
    Tensor frame = out.select(1, t);                                   // [C, H, W], a view of out
    Tensor sum = clone_on_device(frame).view({C, HW});                 // identity + proj(attention)
    ops::add_(sum, contiguous_on_device(y.permute({1, 0})));
    copy_into(frame, sum.view({C, x.size(2), x.size(3)}));
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
      // [2, C, t, H, W] -> [C, t, 2, H, W]: the two halves interleaved in time.
      Tensor doubled = empty_on({C, t, 2, x.size(2), x.size(3)}, DType::F32, x.device());
      for (int64_t half = 0; half < 2; ++half) {
        Tensor dst = doubled.select(2, half);
        copy_into(dst, tc.narrow(0, half * C, C));
      }
      x = doubled.view({C, 2 * t, x.size(2), x.size(3)});
    }
  }
  const Tensor w = conv_weight_.view({conv_out_, dim_, 1, 3, 3});
  Tensor y;
  if (mode_ == ResampleMode::Upsample2d || mode_ == ResampleMode::Upsample3d) {
    y = ops::conv3d(ops::upsample_nearest_2x(x), w, conv_bias_, {1, 1, 1}, {1, 1, 1, 1});
  } else {
    y = ops::conv3d(x, w, conv_bias_, {1, 2, 2}, {0, 1, 0, 1});  // ZeroPad2d((0, 1, 0, 1)), stride 2
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

AvgDown3D::AvgDown3D(int64_t in, int64_t out, int64_t ft, int64_t fs) : in_(in), out_(out), ft_(ft), fs_(fs) {
  WAN_CHECK(in * ft * fs * fs % out == 0, "AvgDown3D: ", in, " x ", ft * fs * fs, " is not a multiple of ", out);
}

Tensor AvgDown3D::forward(const Tensor& x_in, bool) {
  WAN_CHECK(x_in.device() == Device::CPU, "the Wan 2.2 VAE encoder runs on the CPU only for now");
  const int64_t pad_t = (ft_ - x_in.size(1) % ft_) % ft_;
  const Tensor x = cat_frames(Tensor::zeros({x_in.size(0), pad_t, x_in.size(2), x_in.size(3)}, DType::F32), x_in);
  const int64_t C = x.size(0), T = x.size(1) / ft_, H = x.size(2) / fs_, W = x.size(3) / fs_;
  // [C, T, ft, H, fs, W, fs] -> [C, ft, fs, fs, T, H, W] -> [out, group, T, H, W] -> mean over group.
  const Tensor r = x.view({C, T, ft_, H, fs_, W, fs_}).permute({0, 2, 4, 6, 1, 3, 5}).contiguous();
  const int64_t group = C * ft_ * fs_ * fs_ / out_, S = T * H * W;
  Tensor out = Tensor::empty({out_, T, H, W}, DType::F32);
  const float* rp = r.data<float>();
  float* op = out.data<float>();
  for (int64_t o = 0; o < out_; ++o)
    for (int64_t s = 0; s < S; ++s) {
      double sum = 0;
      for (int64_t g = 0; g < group; ++g) sum += rp[(o * group + g) * S + s];
      op[o * S + s] = float(sum / double(group));
    }
  return out;
}

DupUp3D::DupUp3D(int64_t in, int64_t out, int64_t ft, int64_t fs) : in_(in), out_(out), ft_(ft), fs_(fs) {
  WAN_CHECK(out * ft * fs * fs % in == 0, "DupUp3D: ", out, " x ", ft * fs * fs, " is not a multiple of ", in);
}

Tensor DupUp3D::forward(const Tensor& x, bool first_chunk) {
  const int64_t repeats = out_ * ft_ * fs_ * fs_ / in_, T = x.size(1), H = x.size(2), W = x.size(3);
  // repeat_interleave over channels: x as [in, repeats, T, H, W] with a zero stride, copied.
  const Tensor xc = contiguous_on_device(x);
  const Tensor rep = contiguous_on_device(Tensor::from_storage_strided(
      xc.storage(), xc.byte_offset(), {in_, repeats, T, H, W}, {T * H * W, 0, H * W, W, 1}, DType::F32));
  // [out, ft, fs, fs, T, H, W] -> [out, T, ft, H, fs, W, fs] -> [out, T·ft, H·fs, W·fs]
  Tensor y = contiguous_on_device(rep.view({out_, ft_, fs_, fs_, T, H, W}).permute({0, 4, 1, 5, 2, 6, 3}))
                 .view({out_, T * ft_, H * fs_, W * fs_});
  if (first_chunk && ft_ > 1) y = contiguous_on_device(y.narrow(1, ft_ - 1, y.size(1) - (ft_ - 1)));
  return y;
}

Tensor ShortcutBlock::forward(const Tensor& x, bool first_chunk) {
  Tensor y = main_->forward(x, first_chunk);
  if (shortcut_) ops::add_(y, shortcut_->forward(x, first_chunk));
  return y;
}

}  // namespace wan::vae

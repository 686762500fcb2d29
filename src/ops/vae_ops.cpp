#include "ops/vae_ops.h"

#include "backend/backend.h"
#include "ops/activation.h"
#include "ops/check.h"
#include "ops/elementwise.h"
#ifdef WAN_HAVE_CUDA
#include "backend/cuda/cuda_context.h"
#include "ops/cuda/cuda_ops.h"
#endif
#include "ops/cpu/kernels.h"

namespace wan::ops {
namespace {

#ifdef WAN_HAVE_CUDA
// Whether a GPU tensor goes to the channels-last kernels: channels-last and not a contiguous f32
// tensor (which the contiguous f32 kernels take as it is; the two coincide when only C > 1).
bool channels_last_path(const Tensor& x) {
  return x.dim() >= 2 && x.is_channels_last() && !(x.is_contiguous() && x.dtype() == DType::F32);
}

void check_norm_on_cuda(const Tensor& x, const Tensor& gamma) {
  WAN_CHECK((x.dtype() == DType::F32 || x.dtype() == DType::BF16) && gamma.dtype() == DType::F32 &&
                gamma.device() == Device::CUDA && x.dim() >= 1 && gamma.numel() == x.size(0),
            "rms_norm_channels on CUDA: bf16/f32 x [C, ...] and f32 gamma [C] on the GPU, got ", x.describe(),
            " and ", gamma.describe());
}
#endif

void check_bias(const Tensor& x, const Tensor& bias, const char* op) {
  WAN_CHECK(bias.dtype() == DType::F32 && bias.device() == x.device() && bias.numel() == x.size(0) &&
                bias.is_contiguous(),
            op, ": bias must be f32 [", x.size(0), "] on x's device, got ", bias.describe());
}

// x + bias[c] as a new video in x's layout (the paths without a fused kernel).
Tensor with_channel_bias(const Tensor& x, const Tensor& bias) {
  if (x.device() == Device::CUDA) {
#ifdef WAN_HAVE_CUDA
    Tensor y = empty_like_on_device(x, x.dtype());
    copy_into(y, x);
    WAN_CHECK(y.is_channels_last(), "channel bias on CUDA: ", x.describe(), " is not channels-last");
    cuda::add_channel_bias_last(y, bias);
    return y;
#endif
  }
  check_cpu_f32(x, "channel bias", "x");
  Tensor y = x.contiguous().clone();
  const int64_t C = x.size(0), per = C > 0 ? y.numel() / C : 0;
  float* p = y.data<float>();
  const float* b = bias.data<float>();
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < per; ++i) p[c * per + i] += b[c];
  return y;
}

}  // namespace

Tensor rms_norm_channels(const Tensor& x, const Tensor& gamma, bool silu) {
  if (x.device() == Device::CUDA) {
#ifdef WAN_HAVE_CUDA
    check_norm_on_cuda(x, gamma);
    if (channels_last_path(x)) {
      Tensor y = empty_channels_last_on(x.shape(), x.dtype(), Device::CUDA);
      cuda::rms_norm_channels_last(x, contiguous_on_device(gamma), silu, y);
      return y;
    }
    WAN_CHECK(x.dtype() == DType::F32, "rms_norm_channels on CUDA: bf16 x must be channels-last, got ", x.describe());
    Tensor y = wan::cuda::empty(x.shape(), DType::F32);
    cuda::rms_norm_channels(contiguous_on_device(x), contiguous_on_device(gamma), y);
    return silu ? ops::silu(y) : y;
#endif
  }
  check_cpu_f32(x, "rms_norm_channels", "x");
  check_cpu_f32(gamma, "rms_norm_channels", "gamma");
  WAN_CHECK(x.dim() >= 1 && gamma.numel() == x.size(0), "rms_norm_channels: gamma ", gamma.describe(),
            " does not match the ", x.size(0), " channels of x ", x.describe());
  Tensor y = Tensor::empty(x.shape(), DType::F32);
  cpu::rms_norm_channels(x.contiguous(), gamma.contiguous(), y);
  return silu ? ops::silu(y) : y;
}

void rms_norm_channels_into(const Tensor& x, const Tensor& gamma, bool silu, Tensor& out, const Tensor& bias) {
  WAN_CHECK(out.shape() == x.shape() && out.dtype() == x.dtype() && out.device() == x.device(),
            "rms_norm_channels_into: out ", out.describe(), " on ", device_name(out.device()), " must match x ",
            x.describe(), " on ", device_name(x.device()));
  if (bias.defined()) check_bias(x, bias, "rms_norm_channels_into");
#ifdef WAN_HAVE_CUDA
  if (x.device() == Device::CUDA && channels_last_path(x) && out.is_channels_last()) {
    check_norm_on_cuda(x, gamma);
    cuda::rms_norm_channels_last(x, contiguous_on_device(gamma), silu, out, bias);  // straight into out
    return;
  }
#endif
  copy_into(out, rms_norm_channels(bias.defined() ? with_channel_bias(x, bias) : x, gamma, silu));
}

void add_with_channel_bias_(Tensor& a, const Tensor& bias, const Tensor& b) {
  WAN_CHECK(a.defined() && b.defined() && a.shape() == b.shape() && a.dim() >= 1, "add_with_channel_bias_: a ",
            a.describe(), " and b ", b.describe(), " must be videos of one shape");
  check_bias(a, bias, "add_with_channel_bias_");
#ifdef WAN_HAVE_CUDA
  if (a.device() == Device::CUDA && a.is_dense() && a.is_channels_last() && b.dtype() == a.dtype() &&
      b.device() == Device::CUDA && (a.dtype() == DType::BF16 || a.dtype() == DType::F32)) {
    if (b.strides() == a.strides()) {
      cuda::add_biased_last(a, bias, b);
    } else {  // b rearranged into a's memory order first
      Tensor same = empty_like_on_device(a, a.dtype());
      copy_into(same, b);
      cuda::add_biased_last(a, bias, same);
    }
    return;
  }
#endif
  const Tensor biased = with_channel_bias(a, bias);
  copy_into(a, biased);
  add_(a, b);
}

namespace {

// The checks both shortcut adds share: videos [C, T, H, W], y of `expected` shape; x and y in the
// layouts the device's kernels read.
void check_shortcut(const Tensor& y, const Tensor& x, const Shape& expected, const char* op) {
  WAN_CHECK(y.shape() == expected, op, ": y ", y.describe(), " must be ", shape_str(expected), " for x ",
            x.describe());
  WAN_CHECK(y.device() == x.device(), op, ": x and y on different devices");
  if (y.device() == Device::CPU) {
    check_cpu_f32(x, op, "x");
    check_cpu_f32(y, op, "y");
    WAN_CHECK(y.is_contiguous(), op, ": y must be contiguous on the CPU, got ", y.describe());
  } else {
    WAN_CHECK((y.dtype() == DType::BF16 || y.dtype() == DType::F32) && x.dtype() == y.dtype() &&
                  y.is_channels_last() && y.is_dense(),
              op, " on CUDA: y a dense channels-last bf16/f32 video and x of its dtype, got ", y.describe(), " and ",
              x.describe());
  }
}

#ifdef WAN_HAVE_CUDA
// x as a dense channels-last video (itself when it already is one).
Tensor dense_channels_last(const Tensor& x) {
  if (x.is_channels_last() && x.is_dense()) return x;
  Tensor out = empty_channels_last_on(x.shape(), x.dtype(), Device::CUDA);
  copy_into(out, x);
  return out;
}
#endif

}  // namespace

void add_avg_down_3d_(Tensor& y, const Tensor& x, int64_t ft, int64_t fs) {
  WAN_CHECK(x.dim() == 4 && ft >= 1 && fs >= 1, "add_avg_down_3d_: x [C, T, H, W] and factors >= 1, got ",
            x.describe(), ", ", ft, ", ", fs);
  const int64_t C = x.size(0), T = x.size(1), H = x.size(2), W = x.size(3), O = y.defined() ? y.size(0) : 0;
  WAN_CHECK(O > 0 && (C * ft * fs * fs) % O == 0, "add_avg_down_3d_: ", C, " channels x ", ft * fs * fs,
            " positions do not split into groups for ", O, " output channels");
  WAN_CHECK(H % fs == 0 && W % fs == 0, "add_avg_down_3d_: frame ", H, "x", W, " is not a multiple of ", fs);
  const int64_t pad = (ft - T % ft) % ft;
  check_shortcut(y, x, {O, (T + pad) / ft, H / fs, W / fs}, "add_avg_down_3d_");
  if (y.device() == Device::CUDA) {
#ifdef WAN_HAVE_CUDA
    cuda::add_avg_down_last(y, dense_channels_last(x), ft, fs);
    return;
#endif
  }
  cpu::add_avg_down_3d(x.contiguous(), ft, fs, y);
}

void add_dup_up_3d_(Tensor& y, const Tensor& x, int64_t ft, int64_t fs, int64_t drop) {
  WAN_CHECK(x.dim() == 4 && ft >= 1 && fs >= 1, "add_dup_up_3d_: x [C, T, H, W] and factors >= 1, got ",
            x.describe(), ", ", ft, ", ", fs);
  const int64_t C = x.size(0), T = x.size(1), H = x.size(2), W = x.size(3), O = y.defined() ? y.size(0) : 0;
  WAN_CHECK(O > 0 && (O * ft * fs * fs) % C == 0, "add_dup_up_3d_: ", O, " channels x ", ft * fs * fs,
            " positions are not a whole number of copies of ", C, " input channels");
  WAN_CHECK(drop >= 0 && drop < T * ft, "add_dup_up_3d_: cannot drop ", drop, " of ", T * ft, " frames");
  check_shortcut(y, x, {O, T * ft - drop, H * fs, W * fs}, "add_dup_up_3d_");
  if (y.device() == Device::CUDA) {
#ifdef WAN_HAVE_CUDA
    cuda::add_dup_up_last(y, dense_channels_last(x), ft, fs, drop);
    return;
#endif
  }
  cpu::add_dup_up_3d(x.contiguous(), ft, fs, drop, y);
}

Tensor upsample_nearest_2x(const Tensor& x) {
  if (x.device() == Device::CUDA) {
#ifdef WAN_HAVE_CUDA
    WAN_CHECK(x.dim() == 4 && (x.dtype() == DType::F32 || x.dtype() == DType::BF16),
              "upsample_nearest_2x on CUDA: bf16/f32 [C, T, H, W], got ", x.describe());
    if (channels_last_path(x)) {
      Tensor y = empty_channels_last_on({x.size(0), x.size(1), 2 * x.size(2), 2 * x.size(3)}, x.dtype(), Device::CUDA);
      cuda::upsample_nearest_2x_last(x, y);
      return y;
    }
    WAN_CHECK(x.dtype() == DType::F32, "upsample_nearest_2x on CUDA: bf16 x must be channels-last, got ", x.describe());
    Tensor y = wan::cuda::empty({x.size(0), x.size(1), 2 * x.size(2), 2 * x.size(3)}, DType::F32);
    cuda::upsample_nearest_2x(contiguous_on_device(x), y);
    return y;
#endif
  }
  check_cpu_f32(x, "upsample_nearest_2x", "x");
  check_dim(x, 4, "upsample_nearest_2x", "x");
  Tensor y = Tensor::empty({x.size(0), x.size(1), 2 * x.size(2), 2 * x.size(3)}, DType::F32);
  cpu::upsample_nearest_2x(x.contiguous(), y);
  return y;
}

Tensor clamp(const Tensor& x, float lo, float hi) {
  WAN_CHECK(lo <= hi, "clamp: lo ", lo, " above hi ", hi);
  if (x.device() == Device::CUDA) {
#ifdef WAN_HAVE_CUDA
    WAN_CHECK(x.dtype() == DType::F32 || x.dtype() == DType::BF16, "clamp on CUDA: bf16 or f32, got ", x.describe());
    const Tensor dense = x.is_dense() ? x : contiguous_on_device(x);
    Tensor y = empty_like_on_device(dense, dense.dtype());
    cuda::clamp_flat(dense, lo, hi, y);
    return y;
#endif
  }
  check_cpu_f32(x, "clamp", "x");
  Tensor y = Tensor::empty(x.shape(), DType::F32);
  cpu::clamp(x.contiguous(), lo, hi, y);
  return y;
}

}  // namespace wan::ops

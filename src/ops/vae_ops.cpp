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

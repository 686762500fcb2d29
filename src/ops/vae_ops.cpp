#include "ops/vae_ops.h"

#include "backend/backend.h"
#include "ops/activation.h"
#include "ops/check.h"
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

void rms_norm_channels_into(const Tensor& x, const Tensor& gamma, bool silu, Tensor& out) {
  WAN_CHECK(out.shape() == x.shape() && out.dtype() == x.dtype() && out.device() == x.device(),
            "rms_norm_channels_into: out ", out.describe(), " on ", device_name(out.device()), " must match x ",
            x.describe(), " on ", device_name(x.device()));
#ifdef WAN_HAVE_CUDA
  if (x.device() == Device::CUDA && channels_last_path(x) && out.is_channels_last()) {
    check_norm_on_cuda(x, gamma);
    cuda::rms_norm_channels_last(x, contiguous_on_device(gamma), silu, out);  // straight into out
    return;
  }
#endif
  copy_into(out, rms_norm_channels(x, gamma, silu));
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

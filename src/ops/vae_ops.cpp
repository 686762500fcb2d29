#include "ops/vae_ops.h"

#include "ops/check.h"
#include "ops/cpu/kernels.h"

namespace wan::ops {

Tensor rms_norm_channels(const Tensor& x, const Tensor& gamma) {
  check_cpu_f32(x, "rms_norm_channels", "x");
  check_cpu_f32(gamma, "rms_norm_channels", "gamma");
  WAN_CHECK(x.dim() >= 1 && gamma.numel() == x.size(0), "rms_norm_channels: gamma ", gamma.describe(),
            " does not match the ", x.size(0), " channels of x ", x.describe());
  Tensor y = Tensor::empty(x.shape(), DType::F32);
  cpu::rms_norm_channels(x.contiguous(), gamma.contiguous(), y);
  return y;
}

Tensor upsample_nearest_2x(const Tensor& x) {
  check_cpu_f32(x, "upsample_nearest_2x", "x");
  check_dim(x, 4, "upsample_nearest_2x", "x");
  Tensor y = Tensor::empty({x.size(0), x.size(1), 2 * x.size(2), 2 * x.size(3)}, DType::F32);
  cpu::upsample_nearest_2x(x.contiguous(), y);
  return y;
}

}  // namespace wan::ops

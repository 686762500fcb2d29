#include "ops/norm.h"

#include "ops/check.h"
#include "ops/cpu/kernels.h"

namespace wan::ops {
namespace {

void check_param(const Tensor& p, const Tensor& x, const char* op, const char* arg) {
  check_cpu_f32(p, op, arg);
  WAN_CHECK(p.dim() == 1 && p.size(0) == x.size(-1), op, ": ", arg, " ", p.describe(),
            " does not match the last dimension of x ", x.describe());
}

}  // namespace

Tensor layer_norm(const Tensor& x, double eps, const Tensor& weight, const Tensor& bias) {
  check_cpu_f32(x, "layer_norm", "x");
  WAN_CHECK(x.dim() >= 1 && x.size(-1) > 0, "layer_norm: x ", x.describe(), " has an empty last dimension");
  if (weight.defined()) check_param(weight, x, "layer_norm", "weight");
  if (bias.defined()) check_param(bias, x, "layer_norm", "bias");
  Tensor y = Tensor::empty(x.shape(), DType::F32);
  Tensor y2d = y.view({-1, x.size(-1)});
  cpu::layer_norm(x.contiguous().view({-1, x.size(-1)}), eps, weight.defined() ? weight.contiguous() : weight,
                  bias.defined() ? bias.contiguous() : bias, y2d);
  return y;
}

Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps) {
  check_cpu_f32(x, "rms_norm", "x");
  WAN_CHECK(x.dim() >= 1 && x.size(-1) > 0, "rms_norm: x ", x.describe(), " has an empty last dimension");
  check_param(weight, x, "rms_norm", "weight");
  Tensor y = Tensor::empty(x.shape(), DType::F32);
  Tensor y2d = y.view({-1, x.size(-1)});
  cpu::rms_norm(x.contiguous().view({-1, x.size(-1)}), weight.contiguous(), eps, y2d);
  return y;
}

}  // namespace wan::ops

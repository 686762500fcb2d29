#include "ops/linear.h"

#include "ops/check.h"
#include "ops/cpu/kernels.h"

namespace wan::ops {

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Activation act) {
  check_cpu_f32(x, "linear", "x");
  check_cpu_f32(weight, "linear", "weight");
  check_dim(weight, 2, "linear", "weight");
  WAN_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear: x ", x.describe(), " does not match weight ",
            weight.describe(), " (in features ", weight.size(1), ")");
  if (bias.defined()) {
    check_cpu_f32(bias, "linear", "bias");
    WAN_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), "linear: bias ", bias.describe(),
              " does not match weight ", weight.describe());
  }
  const Tensor x2d = x.contiguous().view({-1, weight.size(1)});
  Shape out_shape = x.shape();
  out_shape.back() = weight.size(0);
  Tensor y = Tensor::empty(out_shape, DType::F32);
  Tensor y2d = y.view({-1, weight.size(0)});
  cpu::linear(x2d, weight.contiguous(), bias.defined() ? bias.contiguous() : bias, act, y2d);
  return y;
}

}  // namespace wan::ops

#include "ops/conv.h"

#include "ops/check.h"
#include "ops/cpu/kernels.h"

namespace wan::ops {

Tensor conv3d(const Tensor& x, const Tensor& weight, const Tensor& bias, std::array<int64_t, 3> stride,
              std::array<int64_t, 4> pad) {
  check_cpu_f32(x, "conv3d", "x");
  check_dim(x, 4, "conv3d", "x");
  check_cpu_f32(weight, "conv3d", "weight");
  check_dim(weight, 5, "conv3d", "weight");
  WAN_CHECK(x.size(0) == weight.size(1), "conv3d: input has ", x.size(0), " channels, the weight ", weight.describe(),
            " expects ", weight.size(1));
  if (bias.defined()) {
    check_cpu_f32(bias, "conv3d", "bias");
    WAN_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), "conv3d: bias ", bias.describe(),
              " does not match weight ", weight.describe());
  }
  for (int64_t s : stride) WAN_CHECK(s >= 1, "conv3d: stride must be at least 1");
  for (int64_t p : pad) WAN_CHECK(p >= 0, "conv3d: padding must be non-negative");
  const int64_t T = x.size(1), H = x.size(2) + pad[0] + pad[1], W = x.size(3) + pad[2] + pad[3];
  const int64_t kt = weight.size(2), kh = weight.size(3), kw = weight.size(4);
  WAN_CHECK(T >= kt && H >= kh && W >= kw, "conv3d: input ", x.describe(), " (padded ", T, "x", H, "x", W,
            ") is smaller than the kernel ", kt, "x", kh, "x", kw);
  Tensor out = Tensor::empty(
      {weight.size(0), (T - kt) / stride[0] + 1, (H - kh) / stride[1] + 1, (W - kw) / stride[2] + 1}, DType::F32);
  cpu::conv3d(x.contiguous(), weight.contiguous(), bias.defined() ? bias.contiguous() : bias, stride, pad, out);
  return out;
}

}  // namespace wan::ops

#include "ops/conv.h"

#include "backend/backend.h"
#include "ops/check.h"
#ifdef WAN_HAVE_CUDA
#include "backend/cuda/cuda_context.h"
#include "ops/cuda/cuda_ops.h"
#endif
#include "ops/cpu/kernels.h"

namespace wan::ops {

namespace {
void check_f32(const Tensor& t, Device device, const char* arg) {
  if (device == Device::CPU) return check_cpu_f32(t, "conv3d", arg);
  WAN_CHECK(t.device() == device && t.dtype() == DType::F32, "conv3d on ", device_name(device), ": ", arg,
            " must be an f32 tensor there, got ", t.describe(), " on ", device_name(t.device()));
}
}  // namespace

Tensor conv3d(const Tensor& x, const Tensor& weight, const Tensor& bias, std::array<int64_t, 3> stride,
              std::array<int64_t, 4> pad) {
  WAN_CHECK(x.defined() && weight.defined(), "conv3d: x and weight must be defined");
  const Device device = x.device();
  check_f32(x, device, "x");
  check_dim(x, 4, "conv3d", "x");
  check_f32(weight, device, "weight");
  check_dim(weight, 5, "conv3d", "weight");
  WAN_CHECK(x.size(0) == weight.size(1), "conv3d: input has ", x.size(0), " channels, the weight ", weight.describe(),
            " expects ", weight.size(1));
  if (bias.defined()) {
    check_f32(bias, device, "bias");
    WAN_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), "conv3d: bias ", bias.describe(),
              " does not match weight ", weight.describe());
  }
  for (int64_t s : stride) WAN_CHECK(s >= 1, "conv3d: stride must be at least 1");
  for (int64_t p : pad) WAN_CHECK(p >= 0, "conv3d: padding must be non-negative");
  const int64_t T = x.size(1), H = x.size(2) + pad[0] + pad[1], W = x.size(3) + pad[2] + pad[3];
  const int64_t kt = weight.size(2), kh = weight.size(3), kw = weight.size(4);
  WAN_CHECK(T >= kt && H >= kh && W >= kw, "conv3d: input ", x.describe(), " (padded ", T, "x", H, "x", W,
            ") is smaller than the kernel ", kt, "x", kh, "x", kw);
  const Shape out_shape{weight.size(0), (T - kt) / stride[0] + 1, (H - kh) / stride[1] + 1,
                        (W - kw) / stride[2] + 1};
  if (device == Device::CUDA) {
#ifdef WAN_HAVE_CUDA
    Tensor out = wan::cuda::empty(out_shape, DType::F32);
    cuda::conv3d(contiguous_on_device(x), contiguous_on_device(weight), bias.defined() ? contiguous_on_device(bias) : bias,
                 stride, pad, out);
    return out;
#endif
  }
  Tensor out = Tensor::empty(out_shape, DType::F32);
  cpu::conv3d(x.contiguous(), weight.contiguous(), bias.defined() ? bias.contiguous() : bias, stride, pad, out);
  return out;
}

}  // namespace wan::ops

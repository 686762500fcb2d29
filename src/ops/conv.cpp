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

// [O, C, kt, kh, kw] (or [O, C, kh, kw]) with C innermost, the others row-major outside it.
bool is_filter_channels_last(const Tensor& w) {
  if (w.size(1) != 1 && w.stride(1) != 1) return false;
  int64_t expected = w.size(1);
  for (int64_t d = w.dim() - 1; d >= 0; --d) {
    if (d == 1 || w.size(d) == 1) continue;
    if (w.stride(d) != expected) return false;
    expected *= w.size(d);
  }
  return true;
}

#ifdef WAN_HAVE_CUDA
Tensor to_channels_last(const Tensor& x) {
  if (x.is_channels_last()) return x;
  Tensor out = empty_channels_last_on(x.shape(), x.dtype(), x.device());
  copy_into(out, x);
  return out;
}

// cuDNN on channels-last x into out; where cuDNN has no algorithm for the whole clip, the output
// frames in two halves (each reads its own window of input frames), recursively.
void conv3d_frames(const Tensor& x, const Tensor& w, const Tensor& b, std::array<int64_t, 3> stride,
                   std::array<int64_t, 4> pad, Tensor& out) {
  if (cuda::conv3d(x, w, b, stride, pad, out)) return;
  const int64_t frames = out.size(1), kt = w.size(2);
  WAN_CHECK(frames > 1, "cuDNN has no convolution algorithm for ", x.describe(), " with weight ", w.describe(),
            "; try a smaller video size");
  for (const auto& [first, count] : {std::pair{int64_t(0), frames / 2}, std::pair{frames / 2, frames - frames / 2}}) {
    Tensor part = out.narrow(1, first, count);
    conv3d_frames(x.narrow(1, first * stride[0], (count - 1) * stride[0] + kt), w, b, stride, pad, part);
  }
}
#endif
}  // namespace

Tensor conv3d_weight_layout(const Tensor& weight, DType dtype) {
  WAN_CHECK(weight.dim() == 4 || weight.dim() == 5, "conv3d_weight_layout: a 4-D or 5-D weight, got ",
            weight.describe());
  if (weight.device() == Device::CPU) {
    WAN_CHECK(dtype == DType::F32, "conv3d on the CPU computes in f32, not ", dtype_name(dtype));
    return weight.to(DType::F32);
  }
  WAN_CHECK(dtype == DType::F32 || dtype == DType::BF16, "conv3d on CUDA: bf16 or f32, not ", dtype_name(dtype));
  const Tensor w = convert_on_device(weight, dtype);
  if (is_filter_channels_last(w)) return w;
  Shape physical{w.size(0)};  // [O, (kt,) kh, kw, C]
  for (int64_t d = 2; d < w.dim(); ++d) physical.push_back(w.size(d));
  physical.push_back(w.size(1));
  std::vector<int64_t> order{0, w.dim() - 1};
  for (int64_t d = 1; d + 1 < w.dim(); ++d) order.push_back(d);
  Tensor out = empty_on(physical, dtype, w.device()).permute(order);
  copy_into(out, w);
  return out;
}

Tensor conv3d(const Tensor& x, const Tensor& weight, const Tensor& bias, std::array<int64_t, 3> stride,
              std::array<int64_t, 4> pad) {
  WAN_CHECK(x.defined() && weight.defined(), "conv3d: x and weight must be defined");
  const Device device = x.device();
  check_dim(x, 4, "conv3d", "x");
  check_dim(weight, 5, "conv3d", "weight");
  if (device == Device::CPU) {
    check_f32(x, device, "x");
    check_f32(weight, device, "weight");
  } else {
    WAN_CHECK((x.dtype() == DType::F32 || x.dtype() == DType::BF16) && weight.device() == device &&
                  weight.dtype() == x.dtype(),
              "conv3d on CUDA: x bf16 or f32 and the weight in x's dtype on the GPU (conv3d_weight_layout), got ",
              x.describe(), " and ", weight.describe(), " on ", device_name(weight.device()));
  }
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
    Tensor xc = to_channels_last(x);
    if (pad[0] != pad[1] || pad[2] != pad[3]) {  // cuDNN pads symmetrically: zero-pad explicitly first
      Tensor padded = empty_channels_last_on({x.size(0), T, H, W}, x.dtype(), device);
      Tensor flat = padded.permute({1, 2, 3, 0});  // [T, H, W, C], contiguous
      fill_zero_(flat);
      Tensor inner = padded.narrow(2, pad[0], x.size(2)).narrow(3, pad[2], x.size(3));
      copy_into(inner, xc);
      xc = padded;
      pad = {0, 0, 0, 0};
    }
    Tensor out = empty_channels_last_on(out_shape, x.dtype(), device);
    conv3d_frames(xc, is_filter_channels_last(weight) ? weight : conv3d_weight_layout(weight, x.dtype()),
                  bias.defined() ? contiguous_on_device(bias) : bias, stride, pad, out);
    return out;
#endif
  }
  Tensor out = Tensor::empty(out_shape, DType::F32);
  cpu::conv3d(x.contiguous(), weight.contiguous(), bias.defined() ? bias.contiguous() : bias, stride, pad, out);
  return out;
}

}  // namespace wan::ops

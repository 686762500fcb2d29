#include "ops/linear_fp8.h"

#include <vector>

#include "ops/check.h"
#include "ops/cpu/kernels.h"
#ifdef WAN_HAVE_CUDA
#include "backend/cuda/cuda_context.h"
#include "ops/cuda/cuda_ops.h"
#endif

namespace wan::ops {
namespace {

void check(const Fp8Matrix& x, const Fp8Matrix& w, const Tensor& bias) {
  for (auto [m, name] : {std::pair{&x, "x"}, std::pair{&w, "weight"}}) {
    WAN_CHECK(m->values.defined() && m->values.dim() == 2 && m->values.dtype() == DType::F8_E4M3 &&
                  m->values.is_contiguous(),
              "linear_fp8: ", name, " must be contiguous E4M3 values [rows, in], got ",
              m->values.defined() ? m->values.describe() : "undefined");
    WAN_CHECK(m->scales.defined() && m->scales.dtype() == DType::F32 && m->scales.is_contiguous() &&
                  (m->scales.numel() == 1 || m->scales.numel() == m->values.size(0)),
              "linear_fp8: ", name, "'s scales must be f32 [rows] or [1], got ",
              m->scales.defined() ? m->scales.describe() : "undefined");
    WAN_CHECK(m->scales.device() == x.values.device() && m->values.device() == x.values.device(),
              "linear_fp8: x and weight must be on one device");
  }
  WAN_CHECK(x.values.size(1) == w.values.size(1), "linear_fp8: x ", x.values.describe(), " does not match weight ",
            w.values.describe());
  if (bias.defined())
    WAN_CHECK(bias.dim() == 1 && bias.size(0) == w.values.size(0) && bias.device() == x.values.device(),
              "linear_fp8: bias ", bias.describe(), " does not match weight ", w.values.describe());
}

#ifdef WAN_HAVE_CUDA
// A [1] scale as [rows] (cuBLASLt takes both operands' scales in one mode).
Tensor widened(const Tensor& scales, int64_t rows) {
  if (scales.numel() == rows) return scales;
  const float s = to_device(scales, Device::CPU).data<float>()[0];  // a per-tensor weight: rare, one sync
  return to_device(Tensor::from_vector<float>(std::vector<float>(size_t(rows), s), {rows}), Device::CUDA);
}
#endif

}  // namespace

void linear_fp8_into(const Fp8Matrix& x, const Fp8Matrix& w, const Tensor& bias, Activation act, Tensor& out) {
  check(x, w, bias);
  const int64_t M = x.values.size(0), N = w.values.size(0), K = w.values.size(1);
  WAN_CHECK(x.values.device() == Device::CUDA, "linear_fp8_into: operands on the GPU (the CPU path makes its own "
            "output), got ", x.values.describe(), " on ", device_name(x.values.device()));
  WAN_CHECK(out.defined() && out.device() == Device::CUDA && out.dtype() == DType::BF16 && out.is_contiguous() &&
                out.numel() == M * N,
            "linear_fp8_into: out must be a contiguous bf16 GPU tensor of ", M, " x ", N, " values, got ",
            out.defined() ? out.describe() : "undefined");
#ifdef WAN_HAVE_CUDA
  WAN_CHECK(K % 16 == 0 && N % 8 == 0, "linear_fp8 on CUDA: in features (", K, ") must be a multiple of 16 and out (",
            N, ") of 8 for FP8 tensor cores");
  WAN_CHECK(act != Activation::SiLU, "linear_fp8 on CUDA: the SiLU epilogue is not implemented");
  if (bias.defined())
    WAN_CHECK(bias.dtype() == DType::BF16 && bias.is_contiguous(), "linear_fp8 on CUDA: bias must be contiguous bf16, got ",
              bias.describe());
  Tensor y = out.view({M, N});
  const bool vec = x.scales.numel() != 1 || w.scales.numel() != 1;
  cuda::linear_fp8(x.values, vec ? widened(x.scales, M) : x.scales, w.values, vec ? widened(w.scales, N) : w.scales,
                   bias, act, y);
#else
  (void)K, (void)act;
#endif
}

Tensor linear_fp8(const Fp8Matrix& x, const Fp8Matrix& w, const Tensor& bias, Activation act) {
  check(x, w, bias);
  const int64_t M = x.values.size(0), N = w.values.size(0);
  if (x.values.device() == Device::CUDA) {
#ifdef WAN_HAVE_CUDA
    Tensor y = wan::cuda::empty({M, N}, DType::BF16);
    linear_fp8_into(x, w, bias, act, y);
    return y;
#else
    fail("linear_fp8: tensors on the GPU, but this build has no CUDA backend");
#endif
  }
  if (bias.defined()) check_cpu_f32(bias, "linear_fp8", "bias");
  Tensor y = Tensor::empty({M, N}, DType::F32);
  cpu::linear(dequantize_fp8(x), dequantize_fp8(w), bias.defined() ? bias.contiguous() : bias, act, y);
  return y;
}

Tensor linear(const Tensor& x, const Fp8Matrix& w, const Tensor& bias, Activation act) {
  WAN_CHECK(x.defined() && x.dim() >= 1 && w.values.defined() && x.size(-1) == w.values.size(1),
            "linear (fp8 weight): x ", x.defined() ? x.describe() : "undefined", " does not match weight ",
            w.values.defined() ? w.values.describe() : "undefined");
  const Tensor x2d = x.device() == Device::CUDA ? x.view({-1, x.size(-1)}) : x.to(DType::F32).contiguous().view({-1, x.size(-1)});
  Tensor y = linear_fp8(quantize_fp8(x2d, Fp8Scaling::PerRow), w, bias, act);
  Shape out_shape = x.shape();
  out_shape.back() = w.values.size(0);
  return y.view(out_shape);
}

}  // namespace wan::ops

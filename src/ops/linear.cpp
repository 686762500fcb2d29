#include "ops/linear.h"

#include "ops/check.h"
#include "ops/cpu/kernels.h"
#ifdef WAN_HAVE_CUDA
#include "backend/cuda/cuda_context.h"
#include "ops/cuda/cuda_ops.h"
#endif

namespace wan::ops {
namespace {

void check_shapes(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  WAN_CHECK(weight.dim() == 2, "linear: weight must be [out, in], got ", weight.describe());
  WAN_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear: x ", x.describe(), " does not match weight ",
            weight.describe(), " (in features ", weight.size(1), ")");
  if (bias.defined())
    WAN_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), "linear: bias ", bias.describe(),
              " does not match weight ", weight.describe());
}

#ifdef WAN_HAVE_CUDA
// The bf16 product on the GPU into y (its shape checked by the caller).
void linear_bf16_cuda(const Tensor& x, const Tensor& weight, const Tensor& bias, Activation act, Tensor& y) {
  for (auto [t, name] : {std::pair{&x, "x"}, std::pair{&weight, "weight"}})
    WAN_CHECK(t->device() == Device::CUDA && t->dtype() == DType::BF16 && t->is_contiguous(), "linear on CUDA: ",
              name, " must be a contiguous bf16 GPU tensor, got ", t->describe(), " on ", device_name(t->device()));
  if (bias.defined())
    WAN_CHECK(bias.device() == Device::CUDA && bias.dtype() == DType::BF16 && bias.is_contiguous(),
              "linear on CUDA: bias must be a contiguous bf16 GPU tensor, got ", bias.describe());
  Tensor y2d = y.view({-1, weight.size(0)});
  cuda::linear(x.view({-1, weight.size(1)}), weight, bias, act, y2d);
}
#endif

Tensor linear_cuda(const Tensor& x, const Tensor& weight, const Tensor& bias, Activation act) {
#ifdef WAN_HAVE_CUDA
  if (x.dtype() == DType::F32) {  // the f32 path for small inputs (time embeddings)
    WAN_CHECK(x.device() == Device::CUDA && x.is_contiguous(), "linear on CUDA: f32 x must be contiguous");
    WAN_CHECK(weight.device() == Device::CUDA && weight.is_contiguous() &&
                  (weight.dtype() == DType::BF16 || weight.dtype() == DType::F32),
              "linear on CUDA: with f32 x the weight must be a contiguous bf16 or f32 GPU tensor, got ",
              weight.describe());
    if (bias.defined())
      WAN_CHECK(bias.device() == Device::CUDA && bias.dtype() == weight.dtype() && bias.is_contiguous(),
                "linear on CUDA: bias must be a contiguous GPU tensor of the weight's dtype, got ", bias.describe());
    WAN_CHECK(act != Activation::GeluTanh, "linear on CUDA: the f32 path has no GELU epilogue");
    Shape out_shape = x.shape();
    out_shape.back() = weight.size(0);
    Tensor y = wan::cuda::empty(out_shape, DType::F32);
    Tensor y2d = y.view({-1, weight.size(0)});
    const int64_t M = y2d.size(0), N = weight.size(0), K = weight.size(1);
    if (M > 16 && weight.dtype() == DType::F32 && act == Activation::None) {  // many rows: a TF32 GEMM
      cuda::gemm_f32(M, N, K, x.data<float>(), K, weight.data<float>(), K, /*b_is_nk=*/true, y2d.data<float>(), N,
                     1.0f, 0.0f, bias.defined() ? bias.data<float>() : nullptr);
      return y;
    }
    cuda::linear_f32(x.view({-1, weight.size(1)}), weight, bias, act == Activation::SiLU, y2d);
    return y;
  }
  Shape out_shape = x.shape();
  out_shape.back() = weight.size(0);
  Tensor y = wan::cuda::empty(out_shape, DType::BF16);
  linear_bf16_cuda(x, weight, bias, act, y);
  return y;
#else
  fail("linear: tensor on ", device_name(x.device()), ", but this build has no CUDA backend");
#endif
}

}  // namespace

void linear_into(const Tensor& x, const Tensor& weight, const Tensor& bias, Activation act, Tensor& out) {
  WAN_CHECK(x.defined() && weight.defined(), "linear: x and weight must be defined");
  check_shapes(x, weight, bias);
  Shape out_shape = x.shape();
  out_shape.back() = weight.size(0);
  WAN_CHECK(x.device() == Device::CUDA && x.dtype() == DType::BF16,
            "linear_into: a bf16 x on the GPU (the other paths make their own output), got ", x.describe());
  WAN_CHECK(out.defined() && out.device() == Device::CUDA && out.dtype() == DType::BF16 && out.is_contiguous() &&
                out.shape() == out_shape,
            "linear_into: out must be a contiguous bf16 GPU tensor of shape ", shape_str(out_shape),
            ", got ", out.defined() ? out.describe() : "undefined");
#ifdef WAN_HAVE_CUDA
  linear_bf16_cuda(x, weight, bias, act, out);
#endif
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Activation act) {
  WAN_CHECK(x.defined() && weight.defined(), "linear: x and weight must be defined");
  check_shapes(x, weight, bias);
  if (x.device() == Device::CUDA) return linear_cuda(x, weight, bias, act);
  check_cpu_f32(x, "linear", "x");
  check_cpu_f32(weight, "linear", "weight");
  if (bias.defined()) check_cpu_f32(bias, "linear", "bias");
  const Tensor x2d = x.contiguous().view({-1, weight.size(1)});
  Shape out_shape = x.shape();
  out_shape.back() = weight.size(0);
  Tensor y = Tensor::empty(out_shape, DType::F32);
  Tensor y2d = y.view({-1, weight.size(0)});
  cpu::linear(x2d, weight.contiguous(), bias.defined() ? bias.contiguous() : bias, act, y2d);
  return y;
}

}  // namespace wan::ops

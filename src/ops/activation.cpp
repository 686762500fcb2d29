#include "ops/activation.h"

#ifdef WAN_HAVE_CUDA
#include "backend/cuda/cuda_context.h"
#include "ops/cuda/cuda_ops.h"
#endif

#include <cmath>

#include "backend/backend.h"
#include "ops/check.h"
#include "ops/cpu/kernels.h"

namespace wan::ops {

float gelu_tanh_scalar(float x) {
  const double xd = x;
  const double inner = 0.7978845608028654 * (xd + 0.044715 * xd * xd * xd);  // √(2/π)
  return float(0.5 * xd * (1.0 + std::tanh(inner)));
}

float silu_scalar(float x) { return float(double(x) / (1.0 + std::exp(-double(x)))); }

Tensor gelu_tanh(const Tensor& x) {
  check_cpu_f32(x, "gelu_tanh", "x");
  Tensor c = x.contiguous();
  Tensor y = Tensor::empty(x.shape(), DType::F32);
  cpu::gelu_tanh(c, y);
  return y;
}

Tensor silu(const Tensor& x) {
  if (x.device() == Device::CUDA) {
#ifdef WAN_HAVE_CUDA
    WAN_CHECK(x.dtype() == DType::F32 || x.dtype() == DType::BF16, "silu on CUDA: x must be bf16 or f32, got ",
              x.describe());
    const Tensor dense = x.is_dense() ? x : contiguous_on_device(x);
    Tensor y = empty_like_on_device(dense, dense.dtype());
    cuda::silu_flat(dense, y);
    return y;
#endif
  }
  check_cpu_f32(x, "silu", "x");
  Tensor c = x.contiguous();
  Tensor y = Tensor::empty(x.shape(), DType::F32);
  cpu::silu(c, y);
  return y;
}

}  // namespace wan::ops

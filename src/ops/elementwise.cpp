#include "ops/elementwise.h"

#include "backend/backend.h"
#include "ops/check.h"
#ifdef WAN_HAVE_CUDA
#include "backend/cuda/cuda_context.h"
#include "ops/cuda/cuda_ops.h"
#endif
#include "ops/cpu/kernels.h"

namespace wan::ops {
namespace {

// x [B, L, D] with a per-sample or per-token parameter p [B, Lm, D].
void check_broadcast_param(const Tensor& x, const Tensor& p, const char* op, const char* arg) {
  check_cpu_f32(p, op, arg);
  check_dim(p, 3, op, arg);
  check_last_contiguous(p, op, arg);
  WAN_CHECK(p.size(0) == x.size(0) && (p.size(1) == 1 || p.size(1) == x.size(1)) && p.size(2) == x.size(2), op,
            ": ", arg, " ", p.describe(), " does not broadcast to x ", x.describe(), " (needs [B, 1 or L, D])");
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  check_cpu_f32(a, "add", "a");
  check_cpu_f32(b, "add", "b");
  WAN_CHECK(b.dim() <= a.dim(), "add: b ", b.describe(), " has more dimensions than a ", a.describe());
  for (int64_t i = 1; i <= b.dim(); ++i)
    WAN_CHECK(a.size(-i) == b.size(-i), "add: b ", b.describe(), " does not broadcast to a ", a.describe());
  Tensor out = Tensor::empty(a.shape(), DType::F32);
  cpu::add(a.contiguous(), b.contiguous(), out);
  return out;
}

void add_(Tensor& a, const Tensor& b) {
  if (a.device() == Device::CUDA) {
#ifdef WAN_HAVE_CUDA
    WAN_CHECK((a.dtype() == DType::F32 || a.dtype() == DType::BF16) && b.dtype() == a.dtype() &&
                  b.device() == Device::CUDA && a.is_dense() && a.shape() == b.shape(),
              "add_ on CUDA: a dense bf16/f32 a and a b of its dtype and shape on the GPU, got ", a.describe(),
              " and ", b.describe());
    if (b.strides() == a.strides() && b.is_dense()) {
      cuda::add_flat(a, b);
    } else {  // b rearranged into a's memory order first
      Tensor same = empty_like_on_device(a, a.dtype());
      copy_into(same, b);
      cuda::add_flat(a, same);
    }
    return;
#endif
  }
  check_cpu_f32(a, "add_", "a");
  check_cpu_f32(b, "add_", "b");
  WAN_CHECK(a.is_contiguous(), "add_: a must be contiguous");
  WAN_CHECK(a.shape() == b.shape(), "add_: shapes ", a.describe(), " and ", b.describe(), " differ");
  cpu::add_(a, b.contiguous());
}

Tensor mul(const Tensor& a, const Tensor& b) {
  if (a.device() == Device::CUDA) {
#ifdef WAN_HAVE_CUDA
    WAN_CHECK(a.dtype() == DType::BF16 && b.dtype() == DType::BF16 && b.device() == Device::CUDA &&
                  a.is_contiguous() && b.is_contiguous() && a.shape() == b.shape(),
              "mul on CUDA: contiguous bf16 a and b of one shape on the GPU, got ", a.describe(), " and ",
              b.describe());
    Tensor out = empty_on(a.shape(), DType::BF16, Device::CUDA);
    cuda::mul_bf16(a, b, out);
    return out;
#endif
  }
  check_cpu_f32(a, "mul", "a");
  check_cpu_f32(b, "mul", "b");
  WAN_CHECK(a.shape() == b.shape(), "mul: shapes ", a.describe(), " and ", b.describe(), " differ");
  Tensor out = Tensor::empty(a.shape(), DType::F32);
  cpu::mul(a.contiguous(), b.contiguous(), out);
  return out;
}

Tensor modulate(const Tensor& x, const Tensor& shift, const Tensor& scale) {
  check_cpu_f32(x, "modulate", "x");
  check_dim(x, 3, "modulate", "x");
  check_broadcast_param(x, shift, "modulate", "shift");
  check_broadcast_param(x, scale, "modulate", "scale");
  Tensor y = Tensor::empty(x.shape(), DType::F32);
  cpu::modulate(x.contiguous(), shift, scale, y);
  return y;
}

void gated_residual_(Tensor& x, const Tensor& y, const Tensor& gate) {
  check_cpu_f32(x, "gated_residual_", "x");
  check_dim(x, 3, "gated_residual_", "x");
  WAN_CHECK(x.is_contiguous(), "gated_residual_: x must be contiguous");
  check_cpu_f32(y, "gated_residual_", "y");
  WAN_CHECK(y.shape() == x.shape(), "gated_residual_: y ", y.describe(), " differs from x ", x.describe());
  check_broadcast_param(x, gate, "gated_residual_", "gate");
  cpu::gated_residual_(x, y.contiguous(), gate);
}

}  // namespace wan::ops

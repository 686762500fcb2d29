// CPU reference for ops/activation.h and ops/elementwise.h.
#include "core/thread_pool.h"
#include "ops/activation.h"
#include "ops/cpu/kernels.h"

namespace wan::ops::cpu {
namespace {

constexpr int64_t kGrain = 1 << 14;

// Row (b, l) of a [B, Lm, D] parameter that broadcasts over L when Lm == 1.
const float* param_row(const Tensor& p, int64_t b, int64_t l) {
  const int64_t lm = p.size(1) == 1 ? 0 : l;
  return p.data<float>() + b * p.stride(0) + lm * p.stride(1);
}

}  // namespace

void gelu_tanh(const Tensor& x, Tensor& y) {
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  parallel_for(x.numel(), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) yp[i] = gelu_tanh_scalar(xp[i]);
  }, kGrain);
}

void silu(const Tensor& x, Tensor& y) {
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  parallel_for(x.numel(), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) yp[i] = silu_scalar(xp[i]);
  }, kGrain);
}

void add(const Tensor& a, const Tensor& b, Tensor& out) {
  const int64_t n = a.numel(), period = b.numel();
  const float* ap = a.data<float>();
  const float* bp = b.data<float>();
  float* op = out.data<float>();
  for (int64_t i = 0; i < n; ++i) op[i] = ap[i] + bp[i % period];
}

void add_(Tensor& a, const Tensor& b) {
  float* ap = a.data<float>();
  const float* bp = b.data<float>();
  for (int64_t i = 0, n = a.numel(); i < n; ++i) ap[i] += bp[i];
}

void mul(const Tensor& a, const Tensor& b, Tensor& out) {
  const float* ap = a.data<float>();
  const float* bp = b.data<float>();
  float* op = out.data<float>();
  parallel_for(a.numel(), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) op[i] = ap[i] * bp[i];
  }, kGrain);
}

void modulate(const Tensor& x, const Tensor& shift, const Tensor& scale, Tensor& y) {
  const int64_t B = x.size(0), L = x.size(1), D = x.size(2);
  parallel_for(B * L, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / L, l = r % L;
      const float* xr = x.data<float>() + r * D;
      const float* sh = param_row(shift, b, l);
      const float* sc = param_row(scale, b, l);
      float* yr = y.data<float>() + r * D;
      for (int64_t i = 0; i < D; ++i) {
        const float one_plus = 1.0f + sc[i];
        const float prod = xr[i] * one_plus;
        yr[i] = prod + sh[i];
      }
    }
  });
}

void gated_residual_(Tensor& x, const Tensor& y, const Tensor& gate) {
  const int64_t B = x.size(0), L = x.size(1), D = x.size(2);
  parallel_for(B * L, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* g = param_row(gate, r / L, r % L);
      float* xr = x.data<float>() + r * D;
      const float* yr = y.data<float>() + r * D;
      for (int64_t i = 0; i < D; ++i) {
        const float gated = yr[i] * g[i];
        xr[i] += gated;
      }
    }
  });
}

}  // namespace wan::ops::cpu

// CPU reference for ops/linear.h: plain dot products, double accumulation, threads over rows.
#include "core/thread_pool.h"
#include "ops/activation.h"
#include "ops/cpu/kernels.h"

namespace wan::ops::cpu {

void linear(const Tensor& x2d, const Tensor& weight, const Tensor& bias, Activation act, Tensor& y2d) {
  const int64_t M = x2d.size(0), K = x2d.size(1), N = weight.size(0);
  const float* x = x2d.data<float>();
  const float* w = weight.data<float>();
  const float* b = bias.defined() ? bias.data<float>() : nullptr;
  float* y = y2d.data<float>();
  parallel_for(M, [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; ++m) {
      const float* xr = x + m * K;
      for (int64_t n = 0; n < N; ++n) {
        const float* wr = w + n * K;
        double acc = 0.0;
        for (int64_t k = 0; k < K; ++k) acc += double(xr[k]) * double(wr[k]);
        float v = float(acc);
        if (b) v += b[n];
        if (act == Activation::GeluTanh) v = gelu_tanh_scalar(v);
        if (act == Activation::SiLU) v = silu_scalar(v);
        y[m * N + n] = v;
      }
    }
  });
}

}  // namespace wan::ops::cpu

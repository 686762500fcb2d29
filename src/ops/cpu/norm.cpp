// CPU reference for ops/norm.h: statistics in double, one row per task.
#include <cmath>

#include "core/thread_pool.h"
#include "ops/cpu/kernels.h"

namespace wan::ops::cpu {

void layer_norm(const Tensor& x2d, double eps, const Tensor& weight, const Tensor& bias, Tensor& y2d) {
  const int64_t rows = x2d.size(0), D = x2d.size(1);
  const float* x = x2d.data<float>();
  const float* w = weight.defined() ? weight.data<float>() : nullptr;
  const float* b = bias.defined() ? bias.data<float>() : nullptr;
  float* y = y2d.data<float>();
  parallel_for(rows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * D;
      double mean = 0.0;
      for (int64_t i = 0; i < D; ++i) mean += xr[i];
      mean /= double(D);
      double var = 0.0;
      for (int64_t i = 0; i < D; ++i) var += (xr[i] - mean) * (xr[i] - mean);
      var /= double(D);
      const double rstd = 1.0 / std::sqrt(var + eps);
      for (int64_t i = 0; i < D; ++i) {
        float v = float((xr[i] - mean) * rstd);
        if (w) v *= w[i];
        if (b) v += b[i];
        y[r * D + i] = v;
      }
    }
  });
}

void rms_norm(const Tensor& x2d, const Tensor& weight, double eps, Tensor& y2d) {
  const int64_t rows = x2d.size(0), D = x2d.size(1);
  const float* x = x2d.data<float>();
  const float* w = weight.data<float>();
  float* y = y2d.data<float>();
  parallel_for(rows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * D;
      double ms = 0.0;
      for (int64_t i = 0; i < D; ++i) ms += double(xr[i]) * xr[i];
      const double rrms = 1.0 / std::sqrt(ms / double(D) + eps);
      // Official order: (x · rsqrt(...)) rounded to x's dtype, then · weight.
      for (int64_t i = 0; i < D; ++i) y[r * D + i] = float(xr[i] * rrms) * w[i];
    }
  });
}

}  // namespace wan::ops::cpu

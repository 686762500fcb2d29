#include "core/stats.h"

#include <cmath>
#include <limits>

namespace wan {

TensorStats tensor_stats(const Tensor& t) {
  const Tensor d = t.to(DType::F64).contiguous();
  const double* p = d.data<double>();
  TensorStats s;
  s.min = std::numeric_limits<double>::infinity();
  s.max = -s.min;
  double sum = 0, sum2 = 0;
  int64_t finite = 0;
  for (int64_t i = 0; i < d.numel(); ++i) {
    if (!std::isfinite(p[i])) {
      ++s.non_finite;
      continue;
    }
    ++finite;
    sum += p[i];
    sum2 += p[i] * p[i];
    s.min = std::min(s.min, p[i]);
    s.max = std::max(s.max, p[i]);
  }
  if (finite > 0) {
    s.mean = sum / double(finite);
    s.stddev = std::sqrt(std::max(0.0, sum2 / double(finite) - s.mean * s.mean));
  }
  return s;
}

double rel_l2(const Tensor& a, const Tensor& ref) {
  WAN_CHECK(a.shape() == ref.shape(), "rel_l2: shapes ", a.describe(), " and ", ref.describe(), " differ");
  const Tensor x = a.to(DType::F64).contiguous();
  const Tensor y = ref.to(DType::F64).contiguous();
  const double* xp = x.data<double>();
  const double* yp = y.data<double>();
  double num = 0, den = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (!std::isfinite(xp[i])) return std::numeric_limits<double>::infinity();
    num += (xp[i] - yp[i]) * (xp[i] - yp[i]);
    den += yp[i] * yp[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

double cosine_similarity(const Tensor& a, const Tensor& b) {
  WAN_CHECK(a.shape() == b.shape(), "cosine_similarity: shapes ", a.describe(), " and ", b.describe(), " differ");
  const Tensor x = a.to(DType::F64).contiguous(), y = b.to(DType::F64).contiguous();
  const double* xp = x.data<double>();
  const double* yp = y.data<double>();
  double xy = 0, xx = 0, yy = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    xy += xp[i] * yp[i];
    xx += xp[i] * xp[i];
    yy += yp[i] * yp[i];
  }
  return xx > 0 && yy > 0 ? xy / std::sqrt(xx * yy) : 0.0;
}

}  // namespace wan

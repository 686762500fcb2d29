#include "core/rng.h"

#include <cmath>

namespace wan {

uint64_t Rng::next_u64() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double Rng::uniform() { return double(next_u64() >> 11) * (1.0 / 9007199254740992.0); }

double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();
  const double u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  spare_ = r * std::sin(2.0 * M_PI * u2);
  has_spare_ = true;
  return r * std::cos(2.0 * M_PI * u2);
}

void Rng::fill_normal(Tensor& t, double mean, double stddev) {
  Tensor tmp = Tensor::empty(t.shape(), DType::F64);
  double* p = tmp.data<double>();
  for (int64_t i = 0; i < tmp.numel(); ++i) p[i] = mean + stddev * normal();
  t.copy_from(tmp);
}

void Rng::fill_uniform(Tensor& t, double lo, double hi) {
  Tensor tmp = Tensor::empty(t.shape(), DType::F64);
  double* p = tmp.data<double>();
  for (int64_t i = 0; i < tmp.numel(); ++i) p[i] = lo + (hi - lo) * uniform();
  t.copy_from(tmp);
}

}  // namespace wan

// CPU reference for ops/embedding.h and ops/rope.h: lookups and the float64 position encodings.
#include <cmath>

#include "core/thread_pool.h"
#include "ops/cpu/kernels.h"

namespace wan::ops::cpu {

void sinusoidal_embedding(const Tensor& t, int64_t dim, Tensor& out) {
  const int64_t n = t.size(0), half = dim / 2;
  const float* tp = t.data<float>();
  float* op = out.data<float>();
  for (int64_t r = 0; r < n; ++r) {
    const double pos = tp[r];
    for (int64_t j = 0; j < half; ++j) {
      const double freq = std::pow(10000.0, -double(j) / double(half));
      const double angle = pos * freq;
      op[r * dim + j] = float(std::cos(angle));
      op[r * dim + half + j] = float(std::sin(angle));
    }
  }
}

void embedding_lookup(const Tensor& ids, const Tensor& table, Tensor& out) {
  const int64_t n = ids.numel(), D = table.size(1);
  const int64_t* ip = ids.data<int64_t>();
  const float* tp = table.data<float>();
  float* op = out.data<float>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t d = 0; d < D; ++d) op[i * D + d] = tp[ip[i] * D + d];
}

void rope_apply_3d(const Tensor& x, const std::vector<Grid3>& grids, const RopeTable& table, int64_t first_token,
                   Tensor& y) {
  const int64_t B = x.size(0), L = x.size(1), H = x.size(2), Dh = x.size(3), c = Dh / 2;
  const double* cs = table.cos.data<double>();
  const double* sn = table.sin.data<double>();
  const int64_t s0 = table.slots[0], s1 = table.slots[1];
  parallel_for(B * L, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / L, l = first_token + r % L;
      const Grid3& g = grids[size_t(b)];
      const float* xr = x.data<float>() + r * H * Dh;
      float* yr = y.data<float>() + r * H * Dh;
      if (l >= g[0] * g[1] * g[2]) {  // padding token: passed through
        for (int64_t i = 0; i < H * Dh; ++i) yr[i] = xr[i];
        continue;
      }
      const int64_t pos[3] = {l / (g[1] * g[2]), (l / g[2]) % g[1], l % g[2]};
      for (int64_t h = 0; h < H; ++h) {
        for (int64_t s = 0; s < c; ++s) {
          const int64_t axis = s < s0 ? 0 : (s < s0 + s1 ? 1 : 2);
          const double cv = cs[pos[axis] * c + s], sv = sn[pos[axis] * c + s];
          const double re = xr[h * Dh + 2 * s], im = xr[h * Dh + 2 * s + 1];
          yr[h * Dh + 2 * s] = float(re * cv - im * sv);
          yr[h * Dh + 2 * s + 1] = float(re * sv + im * cv);
        }
      }
    }
  });
}

}  // namespace wan::ops::cpu

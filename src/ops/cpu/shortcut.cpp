// CPU reference for ops/vae_ops.h's parameter-free shortcuts of the Wan 2.2 VAE (AvgDown3D,
// DupUp3D), added into y; x contiguous f32 [C, T, H, W], y contiguous f32 (shapes checked by the
// caller). Index arithmetic as the header states it, one output element at a time.
#include "core/thread_pool.h"
#include "ops/cpu/kernels.h"

namespace wan::ops::cpu {

void add_avg_down_3d(const Tensor& x, int64_t ft, int64_t fs, Tensor& y) {
  const int64_t C = x.size(0), T = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t O = y.size(0), Tp = y.size(1), Hp = y.size(2), Wp = y.size(3);
  const int64_t pad = (ft - T % ft) % ft, f = ft * fs * fs, group = C * f / O;
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  parallel_for(O, [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o)
      for (int64_t t = 0; t < Tp; ++t)
        for (int64_t h = 0; h < Hp; ++h)
          for (int64_t w = 0; w < Wp; ++w) {
            double sum = 0;
            for (int64_t g = 0; g < group; ++g) {
              const int64_t k = o * group + g, c = k / f, s = k % f;
              const int64_t a = s / (fs * fs), b = (s / fs) % fs, d = s % fs, tt = t * ft + a - pad;
              if (tt >= 0) sum += xp[((c * T + tt) * H + h * fs + b) * W + w * fs + d];  // padding frames are 0
            }
            yp[((o * Tp + t) * Hp + h) * Wp + w] += float(sum / double(group));
          }
  }, 1);
}

void add_dup_up_3d(const Tensor& x, int64_t ft, int64_t fs, int64_t drop, Tensor& y) {
  const int64_t C = x.size(0), T = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t O = y.size(0), To = y.size(1), Ho = y.size(2), Wo = y.size(3);
  const int64_t f = ft * fs * fs, repeats = O * f / C;
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  parallel_for(O, [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o)
      for (int64_t to = 0; to < To; ++to) {
        const int64_t tf = to + drop, t = tf / ft, a = tf % ft;
        for (int64_t ho = 0; ho < Ho; ++ho)
          for (int64_t wo = 0; wo < Wo; ++wo) {
            const int64_t j = (a * fs + ho % fs) * fs + wo % fs, c = (o * f + j) / repeats;
            yp[((o * To + to) * Ho + ho) * Wo + wo] += xp[((c * T + t) * H + ho / fs) * W + wo / fs];
          }
      }
  }, 1);
}

}  // namespace wan::ops::cpu

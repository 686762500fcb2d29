// CPU reference for ops/attention.h: exact softmax per query row, double accumulation.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/float_formats.h"
#include "core/thread_pool.h"
#include "ops/cpu/kernels.h"

namespace wan::ops::cpu {

void attention(const Tensor& q, const Tensor& k, const Tensor& v, const std::vector<int64_t>& k_lens,
               double scale, const Tensor& bias, Tensor& out, bool fp8_probabilities) {
  const int64_t B = q.size(0), Lq = q.size(1), H = q.size(2), Dh = q.size(3);
  const int64_t Lk = k.size(1), Dv = v.size(3);
  const float* qp = q.data<float>();
  const float* kp = k.data<float>();
  const float* vp = v.data<float>();
  float* op = out.data<float>();
  const float* bp = bias.defined() ? bias.data<float>() : nullptr;
  parallel_for(B * H * Lq, [&](int64_t r0, int64_t r1) {
    std::vector<double> scores(static_cast<size_t>(Lk));
    std::vector<double> acc(static_cast<size_t>(Dv));
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / (H * Lq), h = (r / Lq) % H, i = r % Lq;
      const int64_t len = k_lens.empty() ? Lk : k_lens[size_t(b)];
      const float* qr = qp + ((b * Lq + i) * H + h) * Dh;
      float* orow = op + ((b * Lq + i) * H + h) * Dv;
      if (len == 0) {
        for (int64_t d = 0; d < Dv; ++d) orow[d] = 0.0f;
        continue;
      }
      double max_score = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < len; ++j) {
        const float* kr = kp + ((b * Lk + j) * H + h) * Dh;
        double dot = 0.0;
        for (int64_t d = 0; d < Dh; ++d) dot += double(qr[d]) * kr[d];
        scores[size_t(j)] = dot * scale + (bp ? bp[(h * Lq + i) * Lk + j] : 0.0f);
        max_score = std::max(max_score, scores[size_t(j)]);
      }
      double denom = 0.0;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t j = 0; j < len; ++j) {
        double p = std::exp(scores[size_t(j)] - max_score);
        denom += p;
        if (fp8_probabilities) p = double(to_float(to_f8e4m3(float(p * 448.0)))) / 448.0;
        const float* vr = vp + ((b * Lk + j) * H + h) * Dv;
        for (int64_t d = 0; d < Dv; ++d) acc[size_t(d)] += p * vr[d];
      }
      for (int64_t d = 0; d < Dv; ++d) orow[d] = float(acc[size_t(d)] / denom);
    }
  });
}

}  // namespace wan::ops::cpu

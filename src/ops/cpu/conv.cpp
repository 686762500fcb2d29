// CPU reference for ops/conv.h and the VAE's ops/vae_ops.h.
// conv3d: per output frame, gather the receptive fields (im2col) and
// multiply by the weight matrix; double accumulation, threads over output channels.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "ops/cpu/kernels.h"

namespace wan::ops::cpu {

void conv3d(const Tensor& x, const Tensor& weight, const Tensor& bias, std::array<int64_t, 3> stride,
            std::array<int64_t, 4> pad, Tensor& out) {
  const int64_t C = x.size(0), H = x.size(2), W = x.size(3);
  const int64_t O = weight.size(0), kt = weight.size(2), kh = weight.size(3), kw = weight.size(4);
  const int64_t To = out.size(1), Ho = out.size(2), Wo = out.size(3), K = C * kt * kh * kw, P = Ho * Wo;
  const float* xp = x.data<float>();
  const float* wp = weight.data<float>();
  const float* bp = bias.defined() ? bias.data<float>() : nullptr;
  float* op = out.data<float>();
  std::vector<float> cols(static_cast<size_t>(K * P));
  for (int64_t to = 0; to < To; ++to) {
    // cols[k, p]: k = ((c·kt + i)·kh + j)·kw + l, p = output position; zeros where padded.
    parallel_for(C * kt, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t c = r / kt, i = r % kt, t = to * stride[0] + i;
        for (int64_t j = 0; j < kh; ++j)
          for (int64_t l = 0; l < kw; ++l) {
            float* col = cols.data() + ((r * kh + j) * kw + l) * P;
            for (int64_t ho = 0; ho < Ho; ++ho) {
              const int64_t h = ho * stride[1] + j - pad[0];
              for (int64_t wo = 0; wo < Wo; ++wo) {
                const int64_t w = wo * stride[2] + l - pad[2];
                col[ho * Wo + wo] = (h >= 0 && h < H && w >= 0 && w < W) ? xp[((c * x.size(1) + t) * H + h) * W + w] : 0.0f;
              }
            }
          }
      }
    });
    parallel_for(O, [&](int64_t o0, int64_t o1) {
      std::vector<double> acc(static_cast<size_t>(P));
      for (int64_t o = o0; o < o1; ++o) {
        std::fill(acc.begin(), acc.end(), bp ? double(bp[o]) : 0.0);
        const float* wr = wp + o * K;
        for (int64_t k = 0; k < K; ++k) {
          const double wv = wr[k];
          const float* col = cols.data() + k * P;
          for (int64_t p = 0; p < P; ++p) acc[size_t(p)] += wv * col[p];
        }
        float* orow = op + (o * To + to) * P;
        for (int64_t p = 0; p < P; ++p) orow[p] = float(acc[size_t(p)]);
      }
    });
  }
}

void rms_norm_channels(const Tensor& x, const Tensor& gamma, Tensor& y) {
  const int64_t C = x.size(0), S = x.numel() / C;
  const float* xp = x.data<float>();
  const float* g = gamma.data<float>();
  float* yp = y.data<float>();
  const double scale = std::sqrt(double(C));
  parallel_for(S, [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s) {
      double ss = 0.0;
      for (int64_t c = 0; c < C; ++c) ss += double(xp[c * S + s]) * xp[c * S + s];
      const double inv = 1.0 / std::max(std::sqrt(ss), 1e-12);
      // F.normalize(x) · √C · gamma, in that order.
      for (int64_t c = 0; c < C; ++c) yp[c * S + s] = float(float(xp[c * S + s] * inv) * scale) * g[c];
    }
  }, 256);
}

void clamp(const Tensor& x, float lo, float hi, Tensor& y) {
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  parallel_for(x.numel(), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) yp[i] = std::min(std::max(xp[i], lo), hi);
  }, 1 << 16);
}

void upsample_nearest_2x(const Tensor& x, Tensor& y) {
  const int64_t CT = x.size(0) * x.size(1), H = x.size(2), W = x.size(3);
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  parallel_for(CT, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t h = 0; h < 2 * H; ++h)
        for (int64_t w = 0; w < 2 * W; ++w) yp[(r * 2 * H + h) * 2 * W + w] = xp[(r * H + h / 2) * W + w / 2];
  });
}

}  // namespace wan::ops::cpu

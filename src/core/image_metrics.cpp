#include "core/image_metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

#include "core/error.h"

namespace wan {
namespace {

std::vector<double> luma(const uint8_t* rgb, int64_t n) {
  std::vector<double> y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) y[size_t(i)] = 0.299 * rgb[3 * i] + 0.587 * rgb[3 * i + 1] + 0.114 * rgb[3 * i + 2];
  return y;
}

// SSIM of two windows' statistics.
double ssim_of(double mx, double my, double vx, double vy, double cxy) {
  constexpr double C1 = (0.01 * 255) * (0.01 * 255), C2 = (0.03 * 255) * (0.03 * 255);
  return ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
}

double ssim_luma(const std::vector<double>& x, const std::vector<double>& y, int64_t W, int64_t H) {
  constexpr int K = 11;
  if (W < K || H < K) {  // one window over the whole frame, uniform weights
    const double n = double(W * H);
    double mx = 0, my = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      mx += x[i];
      my += y[i];
    }
    mx /= n;
    my /= n;
    double vx = 0, vy = 0, cxy = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      vx += (x[i] - mx) * (x[i] - mx);
      vy += (y[i] - my) * (y[i] - my);
      cxy += (x[i] - mx) * (y[i] - my);
    }
    return ssim_of(mx, my, vx / n, vy / n, cxy / n);
  }
  double g[K], sum = 0;
  for (int i = 0; i < K; ++i) sum += g[i] = std::exp(-double((i - K / 2) * (i - K / 2)) / (2 * 1.5 * 1.5));
  for (double& v : g) v /= sum;
  // Separable filtering of x, y, x², y², x·y over the valid positions.
  const int64_t Wo = W - K + 1, Ho = H - K + 1;
  std::vector<double> rows(size_t(5 * H * Wo));
  for (int64_t r = 0; r < H; ++r)
    for (int64_t c = 0; c < Wo; ++c) {
      double s[5] = {0, 0, 0, 0, 0};
      for (int k = 0; k < K; ++k) {
        const double a = x[size_t(r * W + c + k)], b = y[size_t(r * W + c + k)];
        s[0] += g[k] * a;
        s[1] += g[k] * b;
        s[2] += g[k] * a * a;
        s[3] += g[k] * b * b;
        s[4] += g[k] * a * b;
      }
      for (int q = 0; q < 5; ++q) rows[size_t((q * H + r) * Wo + c)] = s[q];
    }
  double total = 0;
  for (int64_t r = 0; r < Ho; ++r)
    for (int64_t c = 0; c < Wo; ++c) {
      double s[5] = {0, 0, 0, 0, 0};
      for (int k = 0; k < K; ++k)
        for (int q = 0; q < 5; ++q) s[q] += g[k] * rows[size_t((q * H + r + k) * Wo + c)];
      total += ssim_of(s[0], s[1], s[2] - s[0] * s[0], s[3] - s[1] * s[1], s[4] - s[0] * s[1]);
    }
  return total / double(Wo * Ho);
}

}  // namespace

FrameDifference compare_rgb_frames(const uint8_t* a, const uint8_t* b, int64_t width, int64_t height) {
  WAN_CHECK(width > 0 && height > 0, "compare: empty frame");
  const int64_t n = width * height;
  FrameDifference d;
  double se = 0;
  for (int64_t i = 0; i < 3 * n; ++i) {
    const int diff = std::abs(int(a[i]) - int(b[i]));
    d.max_abs = std::max(d.max_abs, diff);
    se += double(diff) * diff;
  }
  const double mse = se / double(3 * n);
  d.psnr = mse == 0 ? std::numeric_limits<double>::infinity() : 10 * std::log10(255.0 * 255.0 / mse);
  d.ssim = ssim_luma(luma(a, n), luma(b, n), width, height);
  return d;
}

}  // namespace wan

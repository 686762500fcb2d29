// PSNR / SSIM / max difference of RGB24 frames against closed forms.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/image_metrics.h"

namespace wan {
namespace {

std::vector<uint8_t> pattern(int64_t w, int64_t h, int seed) {
  std::vector<uint8_t> v(size_t(w * h * 3));
  uint32_t s = uint32_t(seed) * 2654435761u + 1;
  for (auto& x : v) {
    s = s * 1664525u + 1013904223u;
    x = uint8_t(40 + (s >> 24) % 170);  // away from 0 and 255, so an offset does not clip
  }
  return v;
}

TEST(ImageMetrics, IdenticalFrames) {
  const auto a = pattern(32, 24, 1);
  const FrameDifference d = compare_rgb_frames(a.data(), a.data(), 32, 24);
  EXPECT_TRUE(std::isinf(d.psnr));
  EXPECT_DOUBLE_EQ(d.ssim, 1.0);
  EXPECT_EQ(d.max_abs, 0);
}

TEST(ImageMetrics, ConstantOffsetHasTheClosedFormPsnr) {
  const auto a = pattern(32, 24, 2);
  auto b = a;
  for (auto& x : b) x = uint8_t(x + 10);
  const FrameDifference d = compare_rgb_frames(a.data(), b.data(), 32, 24);
  EXPECT_NEAR(d.psnr, 20 * std::log10(255.0 / 10.0), 1e-9);  // MSE = 100
  EXPECT_EQ(d.max_abs, 10);
  // SSIM: the structure is kept (only the luminance term drops, a little).
  EXPECT_LT(d.ssim, 1.0);
  EXPECT_GT(d.ssim, 0.95);
}

TEST(ImageMetrics, NoiseLowersSsimAndTinyFramesUseOneWindow) {
  const auto a = pattern(40, 30, 3), b = pattern(40, 30, 4);  // unrelated pictures
  const FrameDifference d = compare_rgb_frames(a.data(), b.data(), 40, 30);
  EXPECT_LT(d.ssim, 0.2);
  EXPECT_LT(d.psnr, 15.0);
  const auto c = pattern(5, 4, 5);  // smaller than the 11x11 window
  EXPECT_DOUBLE_EQ(compare_rgb_frames(c.data(), c.data(), 5, 4).ssim, 1.0);
}

}  // namespace
}  // namespace wan

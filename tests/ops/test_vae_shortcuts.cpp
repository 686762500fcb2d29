// The Wan 2.2 VAE's shortcut adds (ops/vae_ops.h: add_avg_down_3d_, add_dup_up_3d_) on the CPU
// against a transcription of the official modules (vae2_2.py AvgDown3D L316–367, DupUp3D
// L370–412) through views and permutes, on real and odd factors and sizes: exact up to the f32
// rounding of the mean (relative L2 <= 1e-6). Bad shapes are refused with a message.
#include <gtest/gtest.h>

#include "core/stats.h"
#include "ops/elementwise.h"
#include "ops/vae_ops.h"
#include "test_util.h"

namespace wan::ops {
namespace {

// AvgDown3D.forward for one video [C, T, H, W]: zero frames in front to a multiple of ft, the
// view / permute(0, 1, 3, 5, 7, 2, 4, 6) / view to [O, group, T', H', W'], the mean over group.
Tensor official_avg_down(const Tensor& x, int64_t O, int64_t ft, int64_t fs) {
  const int64_t C = x.size(0), pad = (ft - x.size(1) % ft) % ft, T = x.size(1) + pad, H = x.size(2), W = x.size(3);
  Tensor padded = Tensor::zeros({C, T, H, W}, DType::F32);
  padded.narrow(1, pad, x.size(1)).copy_from(x);
  const Tensor r = padded.view({C, T / ft, ft, H / fs, fs, W / fs, fs}).permute({0, 2, 4, 6, 1, 3, 5}).contiguous();
  const int64_t group = C * ft * fs * fs / O, S = T / ft * (H / fs) * (W / fs);
  Tensor out = Tensor::empty({O, T / ft, H / fs, W / fs}, DType::F32);
  for (int64_t o = 0; o < O; ++o)
    for (int64_t s = 0; s < S; ++s) {
      double sum = 0;
      for (int64_t g = 0; g < group; ++g) sum += r.data<float>()[(o * group + g) * S + s];
      out.data<float>()[o * S + s] = float(sum / double(group));
    }
  return out;
}

// DupUp3D.forward: repeat_interleave over channels, view [O, ft, fs, fs, T, H, W], permute(0, 4,
// 1, 5, 2, 6, 3) to [O, T, ft, H, fs, W, fs], view [O, T·ft, H·fs, W·fs], then the first ft − 1
// frames dropped on a first chunk.
Tensor official_dup_up(const Tensor& x, int64_t O, int64_t ft, int64_t fs, bool first_chunk) {
  const int64_t C = x.size(0), T = x.size(1), H = x.size(2), W = x.size(3), f = ft * fs * fs;
  const int64_t repeats = O * f / C;
  Tensor rep = Tensor::empty({C * repeats, T, H, W}, DType::F32);
  for (int64_t m = 0; m < C * repeats; ++m) rep.narrow(0, m, 1).copy_from(x.narrow(0, m / repeats, 1));
  Tensor y = rep.view({O, ft, fs, fs, T, H, W}).permute({0, 4, 1, 5, 2, 6, 3}).contiguous().view(
      {O, T * ft, H * fs, W * fs});
  return first_chunk ? y.narrow(1, ft - 1, T * ft - (ft - 1)).contiguous() : y;
}

TEST(VaeShortcuts, AvgDownAddMatchesTheOfficialModule) {
  struct Case {
    int64_t C, O, ft, fs, T, H, W;
  };
  uint64_t seed = 1;
  // Real factors (2x2x2 into twice the channels, the spatial-only 1x2x2, the last stage's 1x1x1),
  // a frame count that needs padding, groups of 1 to 16.
  for (const Case& c : {Case{4, 8, 2, 2, 3, 6, 10}, Case{4, 8, 2, 2, 1, 2, 2}, Case{6, 12, 1, 2, 5, 4, 6},
                        Case{5, 5, 1, 1, 3, 3, 7}, Case{3, 4, 2, 2, 4, 2, 4}, Case{8, 4, 2, 2, 2, 4, 2}}) {
    const Tensor x = test::random_tensor({c.C, c.T, c.H, c.W}, ++seed);
    const Tensor y0 = test::random_tensor({c.O, (c.T + c.ft - 1) / c.ft, c.H / c.fs, c.W / c.fs}, ++seed);
    Tensor y = y0.clone();
    add_avg_down_3d_(y, x, c.ft, c.fs);
    Tensor want = y0.clone();
    add_(want, official_avg_down(x, c.O, c.ft, c.fs));
    EXPECT_LE(rel_l2(y, want), 1e-6) << c.C << "->" << c.O << " factors " << c.ft << "x" << c.fs;
    EXPECT_GT(rel_l2(y, y0), 1e-3) << "nothing was added";
  }
}

TEST(VaeShortcuts, DupUpAddMatchesTheOfficialModule) {
  struct Case {
    int64_t C, O, ft, fs, T, H, W;
  };
  uint64_t seed = 100;
  // Real factors (2x2x2 at equal channels: 8 copies; 1x2x2 into half the channels: 2 copies),
  // one copy, and more copies than block positions.
  for (const Case& c : {Case{8, 8, 2, 2, 2, 3, 5}, Case{8, 4, 1, 2, 3, 2, 3}, Case{6, 3, 2, 1, 3, 4, 4},
                        Case{4, 16, 2, 2, 1, 2, 3}, Case{5, 10, 2, 2, 2, 3, 2}})
    for (bool first : {true, false}) {
      const int64_t drop = first ? c.ft - 1 : 0;
      const Tensor x = test::random_tensor({c.C, c.T, c.H, c.W}, ++seed);
      const Tensor y0 = test::random_tensor({c.O, c.T * c.ft - drop, c.H * c.fs, c.W * c.fs}, ++seed);
      Tensor y = y0.clone();
      add_dup_up_3d_(y, x, c.ft, c.fs, drop);
      Tensor want = y0.clone();
      add_(want, official_dup_up(x, c.O, c.ft, c.fs, first));
      EXPECT_LE(rel_l2(y, want), 1e-6) << c.C << "->" << c.O << " factors " << c.ft << "x" << c.fs << " first " << first;
    }
}

TEST(VaeShortcuts, RefusesMismatchedShapes) {
  const Tensor x = test::random_tensor({4, 3, 6, 6}, 7);
  Tensor wrong = Tensor::zeros({8, 1, 3, 3}, DType::F32);  // AvgDown 2x2x2 of 3 frames gives 2
  EXPECT_THROW(add_avg_down_3d_(wrong, x, 2, 2), Error);
  Tensor odd = Tensor::zeros({3, 2, 3, 3}, DType::F32);  // 4 x 8 positions do not split into 3 groups
  EXPECT_THROW(add_avg_down_3d_(odd, x, 2, 2), Error);
  Tensor up = Tensor::zeros({4, 6, 12, 12}, DType::F32);
  EXPECT_THROW(add_dup_up_3d_(up, x, 2, 2, 1), Error);  // dropping one frame leaves 5
  EXPECT_NO_THROW(add_dup_up_3d_(up, x, 2, 2, 0));
  EXPECT_THROW(add_dup_up_3d_(up, x, 2, 2, 6), Error);
}

}  // namespace
}  // namespace wan::ops

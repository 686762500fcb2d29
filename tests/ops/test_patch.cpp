#include <gtest/gtest.h>

#include "core/stats.h"
#include "ops/patch.h"
#include "test_util.h"

namespace wan::ops {
namespace {

TEST(Patch, EmbedIsTheStridedConvolution) {
  // x [C=2, T=2, H=4, W=6], patch (1, 2, 2), D = 3: each token is bias + Σ W[d, c, i, j, k]·x[...].
  Tensor x = test::random_tensor({2, 2, 4, 6}, 1);
  Tensor w = test::random_tensor({3, 2, 1, 2, 2}, 2), b = test::random_tensor({3}, 3);
  Tensor tokens = patch_embed(x, w, b);
  ASSERT_EQ(tokens.shape(), (Shape{2 * 2 * 3, 3}));
  const float *xp = x.data<float>(), *wp = w.data<float>(), *bp = b.data<float>();
  for (int64_t f = 0; f < 2; ++f)
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t ww = 0; ww < 3; ++ww)
        for (int64_t d = 0; d < 3; ++d) {
          double acc = bp[d];
          for (int64_t c = 0; c < 2; ++c)
            for (int64_t j = 0; j < 2; ++j)
              for (int64_t k = 0; k < 2; ++k)
                acc += double(wp[((d * 2 + c) * 2 + j) * 2 + k]) * xp[((c * 2 + f) * 4 + 2 * h + j) * 6 + 2 * ww + k];
          EXPECT_NEAR(tokens.data<float>()[((f * 2 + h) * 3 + ww) * 3 + d], acc, 1e-5);
        }
}

TEST(Patch, UnpatchifyUsesTheOfficialFeatureOrder) {
  // Token features ordered ((i·ph + j)·pw + k)·C + c; build them from a known video and invert.
  const int64_t C = 3, F = 2, Hp = 2, Wp = 3;
  const Patch3 patch{1, 2, 2};
  Tensor video = test::random_tensor({C, F, Hp * 2, Wp * 2}, 4);
  Tensor tokens = Tensor::zeros({F * Hp * Wp + 5, 4 * C}, DType::F32);  // 5 padding tokens
  for (int64_t f = 0; f < F; ++f)
    for (int64_t h = 0; h < Hp; ++h)
      for (int64_t w = 0; w < Wp; ++w)
        for (int64_t j = 0; j < 2; ++j)
          for (int64_t k = 0; k < 2; ++k)
            for (int64_t c = 0; c < C; ++c)
              tokens.data<float>()[((f * Hp + h) * Wp + w) * 4 * C + (j * 2 + k) * C + c] =
                  video.data<float>()[((c * F + f) * Hp * 2 + h * 2 + j) * Wp * 2 + w * 2 + k];
  EXPECT_EQ(rel_l2(unpatchify(tokens, {F, Hp, Wp}, patch, C), video), 0.0);
}

TEST(Patch, RejectsSizesThatAreNotMultiplesOfThePatch) {
  Tensor w = test::random_tensor({3, 2, 1, 2, 2}, 2), b = test::random_tensor({3}, 3);
  EXPECT_THROW(patch_embed(test::random_tensor({2, 1, 5, 4}, 1), w, b), Error);
  EXPECT_THROW(patch_embed(test::random_tensor({3, 1, 4, 4}, 1), w, b), Error);
  EXPECT_THROW(unpatchify(test::random_tensor({5, 12}, 1), {1, 2, 3}, {1, 2, 2}, 3), Error);
}

}  // namespace
}  // namespace wan::ops

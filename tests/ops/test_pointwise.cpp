#include <gtest/gtest.h>

#include "core/error.h"
#include "core/stats.h"
#include "ops/activation.h"
#include "ops/elementwise.h"
#include "ops/vae_ops.h"
#include "test_util.h"

namespace wan::ops {
namespace {

TEST(Activation, KnownValues) {
  Tensor x = Tensor::from_vector<float>({0, 1, -1, 3, -10}, {5});
  const auto g = gelu_tanh(x).to_vector<float>();
  EXPECT_EQ(g[0], 0.0f);
  EXPECT_NEAR(g[1], 0.8411920, 1e-6);
  EXPECT_NEAR(g[2], -0.1588080, 1e-6);
  EXPECT_NEAR(g[3], 2.9963627, 1e-6);
  EXPECT_NEAR(g[4], 0.0, 1e-12);
  const auto s = silu(x).to_vector<float>();
  EXPECT_EQ(s[0], 0.0f);
  EXPECT_NEAR(s[1], 0.7310586, 1e-6);
  EXPECT_NEAR(s[2], -0.2689414, 1e-6);
  EXPECT_NEAR(s[4], -4.5397868e-4, 1e-9);
}

TEST(Elementwise, ClampKnownValues) {
  const Tensor x = Tensor::from_vector<float>({-3.0f, -1.0f, -0.25f, 0.0f, 0.5f, 1.0f, 7.0f}, {7});
  EXPECT_EQ(clamp(x, -1.0f, 1.0f).to_vector<float>(), (std::vector<float>{-1.0f, -1.0f, -0.25f, 0.0f, 0.5f, 1.0f, 1.0f}));
  // A strided input gives the clamped values in order.
  const Tensor m = Tensor::from_vector<float>({-2.0f, 0.5f, 3.0f, 0.25f}, {2, 2}).permute({1, 0});
  EXPECT_EQ(clamp(m, 0.0f, 1.0f).to_vector<float>(), (std::vector<float>{0.0f, 1.0f, 0.5f, 0.25f}));
  EXPECT_THROW(clamp(x, 1.0f, -1.0f), Error);
}

TEST(Elementwise, AddBroadcastsOverLeadingDims) {
  Tensor a = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {3, 2});
  Tensor b = Tensor::from_vector<float>({10, 20}, {2});
  EXPECT_EQ(add(a, b).to_vector<float>(), (std::vector<float>{11, 22, 13, 24, 15, 26}));
  EXPECT_THROW(add(a, Tensor::from_vector<float>({1, 2, 3}, {3})), Error);
  add_(a, a.clone());
  EXPECT_EQ(a.to_vector<float>(), (std::vector<float>{2, 4, 6, 8, 10, 12}));
}

TEST(Elementwise, ModulatePerSampleAndPerToken) {
  // x [2, 3, 4]; shift/scale per sample [2, 1, 4] and per token [2, 3, 4].
  Tensor x = test::random_tensor({2, 3, 4}, 1);
  Tensor shift = test::random_tensor({2, 1, 4}, 2), scale = test::random_tensor({2, 1, 4}, 3);
  Tensor y = modulate(x, shift, scale);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t l = 0; l < 3; ++l)
      for (int64_t d = 0; d < 4; ++d) {
        const float xv = x.data<float>()[(b * 3 + l) * 4 + d];
        const float expect = xv * (1 + scale.data<float>()[b * 4 + d]) + shift.data<float>()[b * 4 + d];
        EXPECT_EQ(y.data<float>()[(b * 3 + l) * 4 + d], expect);
      }
  // Per-token parameters equal to the broadcast ones give the same result.
  Tensor shift_tok = Tensor::empty({2, 3, 4}, DType::F32), scale_tok = Tensor::empty({2, 3, 4}, DType::F32);
  for (int64_t l = 0; l < 3; ++l) {
    shift_tok.narrow(1, l, 1).copy_from(shift);
    scale_tok.narrow(1, l, 1).copy_from(scale);
  }
  EXPECT_EQ(rel_l2(modulate(x, shift_tok, scale_tok), y), 0.0);
  EXPECT_THROW(modulate(x, test::random_tensor({2, 2, 4}, 4), scale), Error);
}

TEST(Elementwise, ModulateReadsStridedChunks) {
  // Chunks of a [B, 1, 6, D] modulation tensor are strided views.
  Tensor m = test::random_tensor({1, 1, 6, 8}, 5);
  Tensor x = test::random_tensor({1, 5, 8}, 6);
  Tensor y = modulate(x, m.select(2, 0), m.select(2, 1));
  Tensor y2 = modulate(x, m.select(2, 0).contiguous(), m.select(2, 1).contiguous());
  EXPECT_EQ(rel_l2(y, y2), 0.0);
}

TEST(Elementwise, GatedResidual) {
  Tensor x = Tensor::from_vector<float>({1, 1, 1, 1}, {1, 2, 2});
  Tensor y = Tensor::from_vector<float>({1, 2, 3, 4}, {1, 2, 2});
  Tensor gate = Tensor::from_vector<float>({0.5f, -1}, {1, 1, 2});
  gated_residual_(x, y, gate);
  EXPECT_EQ(x.to_vector<float>(), (std::vector<float>{1.5f, -1, 2.5f, -3}));
}

}  // namespace
}  // namespace wan::ops

namespace wan::ops {
namespace {

// The VAE's ops that add the bias of the convolution before them (ops/vae_ops.h) against the
// unfused sequence: the bias added first, then the norm or the residual add.
TEST(VaeOps, AConvolutionsBiasAddedByTheNextOp) {
  const int64_t C = 5, per = 2 * 3 * 4;
  const Tensor x = test::random_tensor({C, 2, 3, 4}, 31), b = test::random_tensor({C, 2, 3, 4}, 32);
  const Tensor gamma = test::random_tensor({C}, 33), bias = test::random_tensor({C}, 34);
  Tensor biased = x.clone();
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < per; ++i) biased.data<float>()[c * per + i] += bias.data<float>()[c];
  Tensor out = Tensor::empty(x.shape(), DType::F32);
  rms_norm_channels_into(x, gamma, /*silu=*/true, out, bias);
  EXPECT_LT(rel_l2(out, rms_norm_channels(biased, gamma, true)), 1e-7);
  Tensor a = x.clone();
  add_with_channel_bias_(a, bias, b);
  Tensor expect = biased.clone();
  add_(expect, b);
  EXPECT_LT(rel_l2(a, expect), 1e-7);
  EXPECT_GT(rel_l2(a, x), 0.1);  // the bias and b were added
  EXPECT_THROW(add_with_channel_bias_(a, test::random_tensor({C + 1}, 35), b), Error);
}

}  // namespace
}  // namespace wan::ops

#include <gtest/gtest.h>

#include <cmath>

#include "core/stats.h"
#include "ops/norm.h"
#include "test_util.h"

namespace wan::ops {
namespace {

TEST(LayerNorm, RowsHaveZeroMeanUnitVariance) {
  Tensor x = test::random_tensor({5, 37}, 1, 3.0);
  Tensor y = layer_norm(x, 1e-6);
  for (int64_t r = 0; r < 5; ++r) {
    const TensorStats s = tensor_stats(y.select(0, r));
    EXPECT_NEAR(s.mean, 0.0, 1e-6);
    EXPECT_NEAR(s.stddev, 1.0, 1e-5);
  }
}

TEST(LayerNorm, HandComputedWithAffine) {
  Tensor x = Tensor::from_vector<float>({1, 2, 3, 4}, {1, 4});  // mean 2.5, var 1.25
  Tensor w = Tensor::from_vector<float>({1, 2, 1, 1}, {4});
  Tensor b = Tensor::from_vector<float>({0, 0, 1, 0}, {4});
  const auto y = layer_norm(x, 0.0, w, b).to_vector<float>();
  const float r = 1.0f / std::sqrt(1.25f);
  EXPECT_NEAR(y[0], -1.5f * r, 1e-6);
  EXPECT_NEAR(y[1], -0.5f * r * 2, 1e-6);
  EXPECT_NEAR(y[2], 0.5f * r + 1, 1e-6);
  EXPECT_NEAR(y[3], 1.5f * r, 1e-6);
}

TEST(LayerNorm, ConstantRowGivesZeros) {
  Tensor x = Tensor::from_vector<float>({3, 3, 3}, {1, 3});
  EXPECT_EQ(layer_norm(x, 1e-6).to_vector<float>(), (std::vector<float>{0, 0, 0}));
}

TEST(RmsNorm, HandComputed) {
  Tensor x = Tensor::from_vector<float>({3, 4}, {1, 2});  // mean square 12.5
  Tensor w = Tensor::from_vector<float>({1, 0.5f}, {2});
  const auto y = rms_norm(x, w, 0.0).to_vector<float>();
  EXPECT_NEAR(y[0], 3 / std::sqrt(12.5), 1e-6);
  EXPECT_NEAR(y[1], 0.5 * 4 / std::sqrt(12.5), 1e-6);
}

TEST(RmsNorm, NormalisesTheWholeRow) {
  Tensor x = test::random_tensor({3, 2, 64}, 2, 5.0);
  Tensor ones = Tensor::empty({64}, DType::F32);
  ones.fill(1.0);
  Tensor y = rms_norm(x, ones, 1e-6);
  for (int64_t r = 0; r < 3; ++r)
    for (int64_t s = 0; s < 2; ++s) {
      const auto v = y.select(0, r).select(0, s).contiguous().to_vector<float>();
      double ms = 0;
      for (float e : v) ms += double(e) * e;
      EXPECT_NEAR(ms / 64, 1.0, 1e-5);
    }
}

TEST(Norm, RejectsWrongParameterSize) {
  Tensor x = test::random_tensor({2, 8}, 1);
  EXPECT_THROW(layer_norm(x, 1e-6, test::random_tensor({7}, 2)), Error);
  EXPECT_THROW(rms_norm(x, test::random_tensor({9}, 2), 1e-6), Error);
}

}  // namespace
}  // namespace wan::ops

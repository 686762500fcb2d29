#include <gtest/gtest.h>

#include "core/stats.h"
#include "ops/activation.h"
#include "ops/linear.h"
#include "test_util.h"

namespace wan::ops {
namespace {

TEST(Linear, HandComputed) {
  // x [2, 3], W [2, 3], b [2]: y = x·Wᵀ + b.
  Tensor x = Tensor::from_vector<float>({1, 2, 3, -1, 0, 2}, {2, 3});
  Tensor w = Tensor::from_vector<float>({1, 0, -1, 0.5f, 0.5f, 0.5f}, {2, 3});
  Tensor b = Tensor::from_vector<float>({10, -1}, {2});
  EXPECT_EQ(linear(x, w, b).to_vector<float>(), (std::vector<float>{8, 2, 7, -0.5f}));
  EXPECT_EQ(linear(x, w, Tensor()).to_vector<float>(), (std::vector<float>{-2, 3, -3, 0.5f}));
}

TEST(Linear, OddShapesMatchANaiveDoubleReference) {
  for (auto [m, k, n] : {std::tuple{1, 1, 1}, {7, 13, 5}, {33, 65, 17}}) {
    Tensor x = test::random_tensor({2, int64_t(m), int64_t(k)}, 1);
    Tensor w = test::random_tensor({int64_t(n), int64_t(k)}, 2);
    Tensor b = test::random_tensor({int64_t(n)}, 3);
    Tensor y = linear(x, w, b);
    ASSERT_EQ(y.shape(), (Shape{2, int64_t(m), int64_t(n)}));
    Tensor ref = Tensor::empty(y.shape(), DType::F64);
    const float *xp = x.data<float>(), *wp = w.data<float>(), *bp = b.data<float>();
    for (int64_t r = 0; r < 2 * m; ++r)
      for (int64_t j = 0; j < n; ++j) {
        double acc = bp[j];
        for (int64_t i = 0; i < k; ++i) acc += double(xp[r * k + i]) * wp[j * k + i];
        ref.data<double>()[r * n + j] = acc;
      }
    EXPECT_LE(rel_l2(y, ref), 1e-6) << m << "x" << k << "x" << n;
  }
}

TEST(Linear, EpiloguesEqualTheSeparateActivation) {
  Tensor x = test::random_tensor({9, 11}, 4), w = test::random_tensor({6, 11}, 5), b = test::random_tensor({6}, 6);
  EXPECT_EQ(rel_l2(linear(x, w, b, Activation::GeluTanh), gelu_tanh(linear(x, w, b))), 0.0);
  EXPECT_EQ(rel_l2(linear(x, w, b, Activation::SiLU), silu(linear(x, w, b))), 0.0);
}

TEST(Linear, StridedInput) {
  Tensor x = test::random_tensor({5, 4}, 7);
  Tensor w = test::random_tensor({3, 5}, 8);
  EXPECT_EQ(rel_l2(linear(x.permute({1, 0}), w, Tensor()), linear(x.permute({1, 0}).contiguous(), w, Tensor())), 0.0);
}

TEST(Linear, RejectsMismatches) {
  Tensor x = test::random_tensor({2, 3}, 1);
  EXPECT_THROW(linear(x, test::random_tensor({4, 5}, 2), Tensor()), Error);
  EXPECT_THROW(linear(x, test::random_tensor({4, 3}, 2), test::random_tensor({3}, 3)), Error);
  EXPECT_THROW(linear(x.to(DType::BF16), test::random_tensor({4, 3}, 2), Tensor()), Error);
}

}  // namespace
}  // namespace wan::ops

// The CPU specification of the FP8 ops (ops/linear_fp8.h, ops/attention_fp8.h): what they round
// and how far that moves them from the exact f32 ops.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "core/stats.h"
#include "ops/attention.h"
#include "ops/attention_fp8.h"
#include "ops/linear_fp8.h"
#include "test_util.h"

namespace wan::ops {
namespace {

TEST(LinearFp8, IsTheF32ProductOfTheDequantisedOperands) {
  const Tensor x = test::random_tensor({9, 48}, 1);
  const Tensor w = test::random_tensor({24, 48}, 2, 0.05);
  const Tensor b = test::random_tensor({24}, 3);
  const Fp8Matrix wq = quantize_fp8(w, Fp8Scaling::PerRow);
  for (Activation act : {Activation::None, Activation::GeluTanh}) {
    const Tensor y = linear(x, wq, b, act);
    // The definition, spelled out: x per row and W per output channel through E4M3, then f32.
    const Tensor expected = linear(dequantize_fp8(quantize_fp8(x, Fp8Scaling::PerRow)), dequantize_fp8(wq), b, act);
    ASSERT_EQ(y.shape(), expected.shape());
    EXPECT_LT(rel_l2(y, expected), 1e-7);
    // E4M3's step is 2^-4 relative: the product moves by a few percent from the exact one, not 0.
    const double err = rel_l2(y, linear(x, w, b, act));
    EXPECT_GT(err, 1e-3);
    EXPECT_LT(err, 5e-2);
  }
  // [2, 3, 48] inputs keep their leading dims.
  EXPECT_EQ(linear(test::random_tensor({2, 3, 48}, 4), wq, Tensor()).shape(), (Shape{2, 3, 24}));
  EXPECT_THROW(linear(test::random_tensor({2, 40}, 5), wq, Tensor()), Error);
}

TEST(AttentionFp8, StaysWithinFp8sPrecisionOfTheExactAttention) {
  const int64_t B = 2, L = 70, H = 2, D = 32;
  const Tensor q = test::random_tensor({B, L, H, D}, 11), k = test::random_tensor({B, L, H, D}, 12);
  const Tensor v = test::random_tensor({B, L, H, D}, 13);
  const std::vector<int64_t> lens{70, 33};
  const double scale = 1.0 / std::sqrt(double(D));
  const Tensor exact = attention(q, k, v, lens, scale);
  const Tensor fp8 = attention_fp8(q, k, v, lens, scale);
  ASSERT_EQ(fp8.shape(), exact.shape());
  const double err = rel_l2(fp8, exact);
  EXPECT_GT(err, 1e-3);  // the roundings are real
  EXPECT_LT(err, 6e-2);  // and of E4M3's size (2^-4 relative per value, averaged over keys)
  // A sample without keys gives zeros, as the exact attention.
  const Tensor none = attention_fp8(q, k, v, {0, 70}, scale);
  const TensorStats zeros = tensor_stats(none.select(0, 0).contiguous());
  EXPECT_EQ(zeros.min, 0.0);
  EXPECT_EQ(zeros.max, 0.0);
  EXPECT_THROW(attention_fp8(q, k.narrow(3, 0, 16).contiguous(), v, {}, scale), Error);
}

}  // namespace
}  // namespace wan::ops

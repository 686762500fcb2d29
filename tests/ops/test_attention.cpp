#include <gtest/gtest.h>

#include <cmath>

#include "core/stats.h"
#include "ops/attention.h"
#include "test_util.h"

namespace wan::ops {
namespace {

// A direct evaluation of softmax(q·kᵀ·scale)·v in double, one query at a time.
Tensor naive(const Tensor& q, const Tensor& k, const Tensor& v, const std::vector<int64_t>& lens, double scale) {
  const int64_t B = q.size(0), Lq = q.size(1), H = q.size(2), D = q.size(3), Lk = k.size(1), Dv = v.size(3);
  Tensor out = Tensor::zeros({B, Lq, H, Dv}, DType::F64);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < Lq; ++i) {
        const int64_t len = lens.empty() ? Lk : lens[size_t(b)];
        std::vector<double> w(static_cast<size_t>(len));
        double sum = 0;
        for (int64_t j = 0; j < len; ++j) {
          double s = 0;
          for (int64_t d = 0; d < D; ++d)
            s += double(q.data<float>()[((b * Lq + i) * H + h) * D + d]) * k.data<float>()[((b * Lk + j) * H + h) * D + d];
          w[size_t(j)] = std::exp(s * scale);
          sum += w[size_t(j)];
        }
        for (int64_t j = 0; j < len; ++j)
          for (int64_t d = 0; d < Dv; ++d)
            out.data<double>()[((b * Lq + i) * H + h) * Dv + d] +=
                w[size_t(j)] / sum * v.data<float>()[((b * Lk + j) * H + h) * Dv + d];
      }
  return out;
}

TEST(Attention, OddShapesMatchTheNaiveFormula) {
  for (auto [B, Lq, Lk, H, D] : {std::tuple{1, 1, 1, 1, 1}, {2, 5, 7, 3, 5}, {1, 33, 17, 2, 64}}) {
    Tensor q = test::random_tensor({B, Lq, H, D}, 1), k = test::random_tensor({B, Lk, H, D}, 2);
    Tensor v = test::random_tensor({B, Lk, H, D}, 3);
    const double scale = 1.0 / std::sqrt(double(D));
    EXPECT_LE(rel_l2(attention(q, k, v, {}, scale), naive(q, k, v, {}, scale)), 1e-6);
  }
}

TEST(Attention, KeyLengthsMaskTheTail) {
  Tensor q = test::random_tensor({2, 4, 2, 8}, 4), k = test::random_tensor({2, 6, 2, 8}, 5);
  Tensor v = test::random_tensor({2, 6, 2, 8}, 6);
  Tensor masked = attention(q, k, v, {3, 6}, 0.3);
  EXPECT_LE(rel_l2(masked, naive(q, k, v, {3, 6}, 0.3)), 1e-6);
  // Sample 0 with 3 keys equals attention over the first 3 keys alone.
  Tensor cut = attention(q.narrow(0, 0, 1), k.narrow(0, 0, 1).narrow(1, 0, 3), v.narrow(0, 0, 1).narrow(1, 0, 3), {}, 0.3);
  EXPECT_LE(rel_l2(masked.narrow(0, 0, 1), cut), 1e-7);
  // Changing masked keys changes nothing.
  Tensor k2 = k.clone();
  k2.select(0, 0).narrow(0, 3, 3).fill(100.0);
  EXPECT_EQ(rel_l2(attention(q, k2, v, {3, 6}, 0.3).narrow(0, 0, 1), masked.narrow(0, 0, 1)), 0.0);
}

TEST(Attention, ClosedForms) {
  // One key: the output is its value. Zero queries: the mean of the values.
  Tensor q = test::random_tensor({1, 3, 1, 4}, 7), k = test::random_tensor({1, 1, 1, 4}, 8);
  Tensor v = test::random_tensor({1, 1, 1, 4}, 9);
  Tensor o = attention(q, k, v, {}, 1.0);
  for (int64_t i = 0; i < 3; ++i) EXPECT_LE(rel_l2(o.select(1, i), v.select(1, 0)), 1e-7);
  Tensor v3 = Tensor::from_vector<float>({1, 2, 3, 5, 7, 9}, {1, 3, 1, 2});
  Tensor o3 = attention(Tensor::zeros({1, 1, 1, 2}, DType::F32), test::random_tensor({1, 3, 1, 2}, 1), v3, {}, 1.0);
  EXPECT_NEAR(o3.to_vector<float>()[0], 11.0f / 3, 1e-6);  // rows (1, 2), (3, 5), (7, 9)
  EXPECT_NEAR(o3.to_vector<float>()[1], 16.0f / 3, 1e-6);
  // No keys at all: zeros.
  EXPECT_EQ(tensor_stats(attention(q, k, v, {0}, 1.0)).max, 0.0);
}

TEST(Attention, RejectsMismatches) {
  Tensor q = test::random_tensor({1, 2, 2, 4}, 1);
  EXPECT_THROW(attention(q, test::random_tensor({1, 3, 1, 4}, 2), test::random_tensor({1, 3, 1, 4}, 3), {}, 1), Error);
  EXPECT_THROW(attention(q, q, q, {3}, 1), Error);
  EXPECT_THROW(attention(q, q, q, {1, 1}, 1), Error);
}

}  // namespace
}  // namespace wan::ops

namespace wan::ops {
namespace {

TEST(Attention, BiasIsAddedToTheLogits) {
  Tensor q = test::random_tensor({2, 3, 2, 4}, 11), k = test::random_tensor({2, 5, 2, 4}, 12);
  Tensor v = test::random_tensor({2, 5, 2, 4}, 13), bias = test::random_tensor({2, 3, 5}, 14);
  Tensor out = attention(q, k, v, {5, 2}, 1.0, bias);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t i = 0; i < 3; ++i) {
        const int64_t len = b == 0 ? 5 : 2;
        std::vector<double> w(static_cast<size_t>(len));
        double sum = 0;
        for (int64_t j = 0; j < len; ++j) {
          double s = bias.data<float>()[(h * 3 + i) * 5 + j];
          for (int64_t d = 0; d < 4; ++d)
            s += double(q.data<float>()[((b * 3 + i) * 2 + h) * 4 + d]) * k.data<float>()[((b * 5 + j) * 2 + h) * 4 + d];
          w[size_t(j)] = std::exp(s);
          sum += w[size_t(j)];
        }
        for (int64_t d = 0; d < 4; ++d) {
          double o = 0;
          for (int64_t j = 0; j < len; ++j) o += w[size_t(j)] / sum * v.data<float>()[((b * 5 + j) * 2 + h) * 4 + d];
          EXPECT_NEAR(out.data<float>()[((b * 3 + i) * 2 + h) * 4 + d], o, 1e-5);
        }
      }
  EXPECT_THROW(attention(q, k, v, {}, 1.0, test::random_tensor({2, 5, 3}, 15)), Error);
}

}  // namespace
}  // namespace wan::ops

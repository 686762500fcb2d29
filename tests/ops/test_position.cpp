#include <gtest/gtest.h>

#include <cmath>

#include "core/stats.h"
#include "ops/embedding.h"
#include "ops/rope.h"
#include "test_util.h"

namespace wan::ops {
namespace {

TEST(SinusoidalEmbedding, CosineHalfFirstAndOfficialFrequencies) {
  Tensor t = Tensor::from_vector<float>({0, 1, 999}, {3});
  Tensor e = sinusoidal_embedding(t, 256);
  ASSERT_EQ(e.shape(), (Shape{3, 256}));
  const float* p = e.data<float>();
  for (int j = 0; j < 128; ++j) {
    EXPECT_EQ(p[j], 1.0f);        // cos(0)
    EXPECT_EQ(p[128 + j], 0.0f);  // sin(0)
  }
  // freq_j = 10000^(-j/128): j = 0 gives 1, j = 64 gives 0.01.
  EXPECT_FLOAT_EQ(p[256 + 0], float(std::cos(1.0)));
  EXPECT_FLOAT_EQ(p[256 + 128], float(std::sin(1.0)));
  EXPECT_FLOAT_EQ(p[256 + 64], float(std::cos(0.01)));
  EXPECT_FLOAT_EQ(p[512 + 64 + 128], float(std::sin(9.99)));
  EXPECT_THROW(sinusoidal_embedding(t, 7), Error);
}

TEST(Rope, TableSplitsSlotsLikeTheOfficialCode) {
  const RopeTable t = rope_table_3d(128);
  EXPECT_EQ(t.slots, (std::array<int64_t, 3>{22, 21, 21}));
  EXPECT_EQ(t.cos.shape(), (Shape{1024, 64}));
  const double* c = t.cos.data<double>();
  // Position 1: slot 0 of each axis has frequency 1; frame slot i has 10000^(-2i/44).
  EXPECT_DOUBLE_EQ(c[64 + 0], std::cos(1.0));
  EXPECT_DOUBLE_EQ(c[64 + 22], std::cos(1.0));
  EXPECT_DOUBLE_EQ(c[64 + 43], std::cos(1.0));
  EXPECT_DOUBLE_EQ(c[5 * 64 + 3], std::cos(5.0 * std::pow(10000.0, -6.0 / 44.0)));
  EXPECT_DOUBLE_EQ(c[5 * 64 + 22 + 4], std::cos(5.0 * std::pow(10000.0, -8.0 / 42.0)));
}

TEST(Rope, RotatesInterleavedPairsByGridPosition) {
  const RopeTable table = rope_table_3d(12);  // slots 2/2/2
  // One token at grid (f, h, w) = (0, 0, 1) of a 1x1x2 grid: only width slots rotate.
  Tensor x = Tensor::empty({1, 2, 1, 12}, DType::F32);
  x.fill(1.0);
  Tensor y = rope_apply_3d(x, {{1, 1, 2}}, table);
  const auto v = y.to_vector<float>();
  for (int i = 0; i < 12; ++i) EXPECT_EQ(v[size_t(i)], 1.0f) << "token 0 is at the origin";
  for (int i = 12; i < 20; ++i) EXPECT_EQ(v[size_t(i)], 1.0f) << "frame/height slots of token 1";
  // Width slot 0 (elements 8, 9) rotates by angle 1: (1 + i)·e^{i} = (cos1 − sin1) + i(sin1 + cos1).
  EXPECT_FLOAT_EQ(v[20], float(std::cos(1.0) - std::sin(1.0)));
  EXPECT_FLOAT_EQ(v[21], float(std::sin(1.0) + std::cos(1.0)));
}

TEST(Rope, LeavesPaddingTokensAndPreservesNorms) {
  const RopeTable table = rope_table_3d(24);
  Tensor x = test::random_tensor({2, 10, 3, 24}, 1);
  Tensor y = rope_apply_3d(x, {{2, 2, 2}, {1, 3, 3}}, table);
  // Sample 0 has 8 tokens: tokens 8, 9 are padding and pass through.
  EXPECT_EQ(rel_l2(y.select(0, 0).narrow(0, 8, 2), x.select(0, 0).narrow(0, 8, 2)), 0.0);
  EXPECT_GT(rel_l2(y.select(0, 1).narrow(0, 1, 8), x.select(0, 1).narrow(0, 1, 8)), 1e-2);
  // A rotation keeps each pair's length.
  const float *xp = x.data<float>(), *yp = y.data<float>();
  for (int64_t i = 0; i < x.numel(); i += 2)
    EXPECT_NEAR(std::hypot(xp[i], xp[i + 1]), std::hypot(yp[i], yp[i + 1]), 1e-5);
}

// A slice of the sequence (Ulysses) rotates as the same rows of the whole; a slice that runs
// past the grid leaves its padding rows alone.
TEST(Rope, SliceOfTheSequenceMatchesTheWhole) {
  const RopeTable table = rope_table_3d(24);
  const Tensor x = test::random_tensor({2, 12, 3, 24}, 4);
  const std::vector<Grid3> grids{{2, 2, 3}, {1, 3, 3}};  // 12 and 9 tokens
  const Tensor whole = rope_apply_3d(x, grids, table);
  for (int64_t first : {0, 5, 6, 11}) {
    const int64_t n = 12 - first;
    const Tensor part = rope_apply_3d(x.narrow(1, first, n).contiguous(), grids, table, first);
    EXPECT_EQ(rel_l2(part, whole.narrow(1, first, n).contiguous()), 0.0) << first;
  }
  EXPECT_THROW(rope_apply_3d(x, grids, table, -1), Error);
}

TEST(Rope, DotProductsDependOnlyOnRelativePosition) {
  // The property RoPE exists for: <R(p)q, R(p')k> depends on p − p' alone.
  const RopeTable table = rope_table_3d(18);
  Tensor q = test::random_tensor({1, 1, 1, 18}, 2), k = test::random_tensor({1, 1, 1, 18}, 3);
  auto at = [&](const Tensor& v, int64_t f, int64_t h, int64_t w) {
    // Place v at grid position (f, h, w) of a 4x4x4 grid.
    Tensor x = Tensor::zeros({1, 64, 1, 18}, DType::F32);
    x.narrow(1, (f * 4 + h) * 4 + w, 1).copy_from(v);
    return rope_apply_3d(x, {{4, 4, 4}}, table).narrow(1, (f * 4 + h) * 4 + w, 1).contiguous().to_vector<float>();
  };
  auto dot = [](const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
    return s;
  };
  const double d1 = dot(at(q, 1, 2, 0), at(k, 0, 1, 2));
  const double d2 = dot(at(q, 3, 3, 1), at(k, 2, 2, 3));
  EXPECT_NEAR(d1, d2, 1e-5);
  EXPECT_GT(std::fabs(d1 - dot(at(q, 0, 0, 0), at(k, 0, 0, 0))), 1e-4);
}

TEST(Rope, RejectsGridsBeyondTheTable) {
  const RopeTable table = rope_table_3d(12, 16);
  EXPECT_THROW(rope_apply_3d(test::random_tensor({1, 17, 1, 12}, 1), {{17, 1, 1}}, table), Error);
}

// Fewer rows than the grid holds: the first rows of a longer sequence (one GPU's Ulysses slice).
TEST(Rope, FewerRowsThanTheGridAreTheFirstTokens) {
  const RopeTable table = rope_table_3d(12, 16);
  const Tensor x = test::random_tensor({1, 8, 1, 12}, 1);
  const Tensor whole = rope_apply_3d(x, {{2, 2, 2}}, table);
  EXPECT_EQ(rel_l2(rope_apply_3d(x.narrow(1, 0, 4).contiguous(), {{2, 2, 2}}, table), whole.narrow(1, 0, 4).contiguous()),
            0.0);
}

}  // namespace
}  // namespace wan::ops

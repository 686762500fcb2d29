#include <gtest/gtest.h>

#include <string>

#include "core/tensor.h"
#include "test_util.h"

namespace wan {
namespace {

Tensor iota(const Shape& shape) {
  Tensor t = Tensor::empty(shape, DType::F32);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = float(i);
  return t;
}

TEST(Tensor, ShapeStridesAndSize) {
  Tensor t = Tensor::zeros({2, 3, 4}, DType::BF16);
  EXPECT_EQ(t.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(t.strides(), (Shape{12, 4, 1}));
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.nbytes(), 48u);
  EXPECT_EQ(t.size(-1), 4);
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.describe(), "bf16[2, 3, 4]");
  EXPECT_FALSE(Tensor().defined());
}

TEST(Tensor, EveryDTypeHasItsSize) {
  EXPECT_EQ(dtype_size(DType::F32), 4u);
  EXPECT_EQ(dtype_size(DType::F64), 8u);
  EXPECT_EQ(dtype_size(DType::BF16), 2u);
  EXPECT_EQ(dtype_size(DType::F16), 2u);
  EXPECT_EQ(dtype_size(DType::F8_E4M3), 1u);
  EXPECT_EQ(dtype_size(DType::F8_E5M2), 1u);
  EXPECT_EQ(dtype_size(DType::I32), 4u);
  EXPECT_EQ(dtype_size(DType::I64), 8u);
  EXPECT_EQ(dtype_from_safetensors("F8_E4M3"), DType::F8_E4M3);
  EXPECT_FALSE(dtype_from_safetensors("Q4_K").has_value());
  EXPECT_EQ(dtype_from_name("bfloat16"), DType::BF16);
}

TEST(Tensor, ViewInfersOneSize) {
  Tensor t = iota({2, 3, 4});
  Tensor v = t.view({6, -1});
  EXPECT_EQ(v.shape(), (Shape{6, 4}));
  EXPECT_EQ(v.data_ptr(), t.data_ptr());  // shares the storage
  EXPECT_THROW(t.view({5, -1}), Error);
  EXPECT_THROW(t.view({-1, -1}), Error);
  EXPECT_THROW(t.view({2, 3}), Error);
}

TEST(Tensor, NarrowSelectPermuteAreViews) {
  Tensor t = iota({2, 3, 4});
  Tensor n = t.narrow(1, 1, 2);  // [2, 2, 4], starting at element 4
  EXPECT_EQ(n.shape(), (Shape{2, 2, 4}));
  EXPECT_EQ(n.data<float>()[0], 4.0f);
  EXPECT_FALSE(n.is_contiguous());
  Tensor s = t.select(2, 3);  // [2, 3]: elements 3, 7, 11, ...
  EXPECT_EQ(s.shape(), (Shape{2, 3}));
  EXPECT_EQ(s.contiguous().to_vector<float>(), (std::vector<float>{3, 7, 11, 15, 19, 23}));
  Tensor p = t.permute({2, 0, 1});  // [4, 2, 3]
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  const auto pv = p.contiguous().to_vector<float>();
  EXPECT_EQ(pv[0], 0.0f);
  EXPECT_EQ(pv[1], 4.0f);   // p[0, 0, 1] = t[0, 1, 0]
  EXPECT_EQ(pv[3], 12.0f);  // p[0, 1, 0] = t[1, 0, 0]
  EXPECT_EQ(pv[6], 1.0f);   // p[1, 0, 0] = t[0, 0, 1]
  Tensor u = t.unsqueeze(1);
  EXPECT_EQ(u.shape(), (Shape{2, 1, 3, 4}));
  EXPECT_TRUE(u.is_contiguous());
  EXPECT_EQ(t.unsqueeze(-1).shape(), (Shape{2, 3, 4, 1}));
  EXPECT_THROW(t.narrow(1, 2, 2), Error);
  EXPECT_THROW(t.select(0, 2), Error);
  EXPECT_THROW(t.permute({0, 0, 1}), Error);
  EXPECT_THROW(t.size(3), Error);
}

TEST(Tensor, WritesThroughViews) {
  Tensor t = Tensor::zeros({3, 4}, DType::F32);
  Tensor row = t.select(0, 1);
  row.fill(2.5);
  Tensor col = t.select(1, 2);
  col.copy_from(Tensor::from_vector<float>({7, 8, 9}, {3}));
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{0, 0, 7, 0, 2.5, 2.5, 8, 2.5, 0, 0, 9, 0}));
}

TEST(Tensor, ConvertsBetweenDTypes) {
  Tensor f = Tensor::from_vector<float>({1.0f, -2.5f, 0.15625f, 3.0e38f}, {4});
  const auto back = f.to(DType::BF16).to(DType::F32).to_vector<float>();
  EXPECT_EQ(back[0], 1.0f);
  EXPECT_EQ(back[1], -2.5f);
  EXPECT_EQ(back[2], 0.15625f);
  EXPECT_NEAR(back[3], 3.0e38f, 3.0e38f * 1e-2f);
  const auto ints = f.narrow(0, 0, 3).to(DType::I64).to_vector<int64_t>();  // truncation toward zero
  EXPECT_EQ(ints, (std::vector<int64_t>{1, -2, 0}));
  Tensor i = Tensor::from_vector<int64_t>({5, -7}, {2});
  EXPECT_EQ(i.to(DType::F16).to_vector<float>(), (std::vector<float>{5.0f, -7.0f}));
  EXPECT_EQ(i.to(DType::I32).to_vector<int32_t>(), (std::vector<int32_t>{5, -7}));
  // Strided source: a transposed view converts element by element.
  Tensor m = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(m.permute({1, 0}).to(DType::F64).to_vector<double>(), (std::vector<double>{1, 4, 2, 5, 3, 6}));
}

TEST(Tensor, TypedAccessChecksTheDType) {
  Tensor t = Tensor::zeros({2}, DType::F32);
  EXPECT_THROW(t.data<double>(), Error);
  EXPECT_NO_THROW(t.data<float>());
}

TEST(Tensor, FromStorageChecksBounds) {
  auto storage = Storage::allocate_cpu(64);
  EXPECT_NO_THROW(Tensor::from_storage(storage, 32, {8}, DType::F32));
  EXPECT_THROW(Tensor::from_storage(storage, 36, {8}, DType::F32), Error);
  EXPECT_THROW(Tensor::from_storage(storage, 128, {0}, DType::F32), Error);
}

TEST(Tensor, RejectsBadShapes) {
  EXPECT_THROW(Tensor::empty({-1, 2}, DType::F32), Error);
  EXPECT_THROW(Tensor::empty({int64_t(1) << 40, int64_t(1) << 40}, DType::F32), Error);
  EXPECT_EQ(Tensor::empty({0, 5}, DType::F32).numel(), 0);
}

}  // namespace
}  // namespace wan

namespace wan {
namespace {
TEST(Tensor, DenseAndChannelsLastLayouts) {
  const Tensor c = iota({3, 4, 5, 6});  // [C, T, H, W] contiguous
  EXPECT_TRUE(c.is_dense());
  EXPECT_FALSE(c.is_channels_last());
  const Tensor cl = iota({4, 5, 6, 3}).permute({3, 0, 1, 2});  // [C, T, H, W] stored [T, H, W, C]
  EXPECT_EQ(cl.shape(), (Shape{3, 4, 5, 6}));
  EXPECT_TRUE(cl.is_dense());
  EXPECT_TRUE(cl.is_channels_last());
  EXPECT_FALSE(cl.is_contiguous());
  // A time window of a channels-last video is one block of memory, still channels-last.
  EXPECT_TRUE(cl.narrow(1, 1, 2).is_dense());
  EXPECT_TRUE(cl.narrow(1, 1, 2).is_channels_last());
  // A window in space, or every other channel, is neither.
  EXPECT_FALSE(cl.narrow(2, 1, 2).is_dense());
  EXPECT_FALSE(cl.narrow(2, 1, 2).is_channels_last());
  EXPECT_FALSE(c.narrow(1, 1, 2).is_dense());
  // Other permutations are dense but not channels-last; size-1 dims may have any stride.
  EXPECT_TRUE(c.permute({1, 0, 3, 2}).is_dense());
  EXPECT_FALSE(c.permute({1, 0, 3, 2}).is_channels_last());
  EXPECT_TRUE(iota({1, 5, 7}).permute({0, 2, 1}).is_dense());
  EXPECT_TRUE(iota({5, 1}).is_channels_last());
}

TEST(Tensor, EmptyTensorsAreContiguous) {
  const Tensor t = Tensor::empty({3, 0, 2}, DType::F32);
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_TRUE(t.narrow(2, 0, 1).is_contiguous());
  EXPECT_EQ(t.clone().numel(), 0);
}
}  // namespace
}  // namespace wan

namespace wan {
namespace {

// The helper the GPU tests use to check that an op wrote into a slice of rows and nowhere else.
TEST(TestUtil, HoldsRowsOnlyCatchesWrongRowsAndStrayWrites) {
  const Tensor expected = test::random_tensor({3, 4}, 7);
  Tensor buffer = Tensor::zeros({6, 4}, DType::F32);
  buffer.narrow(0, 2, 3).copy_from(expected);
  std::string why;
  EXPECT_TRUE(test::holds_rows_only(buffer, 2, expected, why)) << why;
  EXPECT_FALSE(test::holds_rows_only(buffer, 1, expected, why));  // the rows sit elsewhere
  EXPECT_EQ(why, "its rows differ from the expected ones");
  buffer.narrow(0, 5, 1).copy_from(test::random_tensor({1, 4}, 8));
  EXPECT_FALSE(test::holds_rows_only(buffer, 2, expected, why));
  EXPECT_EQ(why, "it wrote outside its rows");
}

}  // namespace
}  // namespace wan

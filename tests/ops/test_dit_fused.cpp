// The CPU references of the fused DiT ops that the CUDA model leans on: in-place q/k
// normalisation on strided columns of a fused product, and the modulation tables.
#include <gtest/gtest.h>

#include "core/stats.h"
#include "ops/dit_fused.h"
#include "ops/rope.h"
#include "test_util.h"

namespace wan::ops {
namespace {

TEST(DitFused, RmsNormRopeInPlaceOnFusedColumnsEqualsTheContiguousOp) {
  const RopeTable table = rope_table_3d(16);
  const int64_t B = 2, L = 13, H = 2, D = H * 16;
  const Tensor qkv = test::random_tensor({B, L, 3 * D}, 3, 2.0).to(DType::BF16);
  const Tensor w = test::random_tensor({D}, 4).to(DType::BF16).to(DType::F32);
  const std::vector<Grid3> grids = {{1, 3, 4}, {2, 2, 3}};  // 12 of 13 tokens: one padding row each
  Tensor fused = qkv.clone();
  Tensor k = fused.narrow(2, D, D);
  rms_norm_rope_(k, w, 1e-6, H, grids, &table);
  const Tensor ref = rms_norm_rope(qkv.narrow(2, D, D).contiguous(), w, 1e-6, H, grids, &table);
  EXPECT_EQ(rel_l2(fused.narrow(2, D, D).contiguous().to(DType::F32), ref.to(DType::F32)), 0.0);
  EXPECT_GT(rel_l2(ref.to(DType::F32), qkv.narrow(2, D, D).contiguous().to(DType::F32)), 0.1);  // it changed k
  for (int64_t part : {0, 2})  // q and v untouched
    EXPECT_EQ(rel_l2(fused.narrow(2, part * D, D).contiguous().to(DType::F32),
                     qkv.narrow(2, part * D, D).contiguous().to(DType::F32)),
              0.0);
}

TEST(DitFused, BlockModulationAddsEveryRowToEveryTableEntry) {
  const Tensor e = Tensor::from_vector(std::vector<float>{1, 2, 10, 20, 100, 200, 1000, 2000}, {2, 2, 2});
  const Tensor table = Tensor::from_vector(std::vector<float>{0.5f, 0.25f, -1, -2, 3, 4, 5, 6}, {2, 2, 2});
  const Tensor out = block_modulation(e, table);  // [N=2, K=2, B=2, D=2]
  ASSERT_EQ(out.shape(), (Shape{2, 2, 2, 2}));
  const float* o = out.data<float>();
  // n=0,k=0: table (0.5, 0.25) + e[b=0,k=0] (1, 2) and + e[b=1,k=0] (100, 200)
  EXPECT_FLOAT_EQ(o[0], 1.5f);
  EXPECT_FLOAT_EQ(o[1], 2.25f);
  EXPECT_FLOAT_EQ(o[2], 100.5f);
  EXPECT_FLOAT_EQ(o[3], 200.25f);
  // n=1,k=1,b=1: table (5, 6) + e[1,1] (1000, 2000)
  EXPECT_FLOAT_EQ(o[14], 1005.0f);
  EXPECT_FLOAT_EQ(o[15], 2006.0f);
  // Ke = 1: the same row of e for every k (the head's shift and scale).
  const Tensor head = block_modulation(e.narrow(1, 0, 1).contiguous(), table.narrow(0, 0, 1).contiguous());
  ASSERT_EQ(head.shape(), (Shape{1, 2, 2, 2}));
  EXPECT_FLOAT_EQ(head.data<float>()[4], -1.0f + 1.0f);   // k=1, b=0, d=0: table[0,1,0] + e[0,0,0]
  EXPECT_FLOAT_EQ(head.data<float>()[7], -2.0f + 200.0f); // k=1, b=1, d=1
  EXPECT_THROW(block_modulation(e.narrow(1, 0, 1).contiguous(), Tensor::zeros({1, 3, 3}, DType::F32)), Error);
}

}  // namespace
}  // namespace wan::ops

namespace wan::ops {
namespace {

// No pending update (an undefined y): the norm of x alone, x untouched; the FP8 form likewise.
TEST(DitFused, ResidualNormWithoutAnUpdateIsTheNormAlone) {
  const Tensor x = test::random_tensor({2, 5, 64}, 41, 2.0);
  const Tensor shift = test::random_tensor({2, 64}, 42), scale = test::random_tensor({2, 64}, 43, 0.3);
  Tensor xs = x.clone();
  const Tensor fused = residual_layer_norm_modulate_(xs, {}, {}, 1e-6, {}, {}, shift, scale);
  EXPECT_EQ(rel_l2(xs, x), 0.0);
  EXPECT_EQ(rel_l2(fused.to(DType::F32), layer_norm_modulate(x, 1e-6, {}, {}, shift, scale).to(DType::F32)), 0.0);
  const Fp8Matrix fused8 = residual_layer_norm_modulate_fp8_(xs, {}, {}, 1e-6, {}, {}, shift, scale);
  const Fp8Matrix alone8 = layer_norm_modulate_fp8(x, 1e-6, {}, {}, shift, scale);
  EXPECT_EQ(rel_l2(dequantize_fp8(fused8), dequantize_fp8(alone8)), 0.0);
  EXPECT_EQ(rel_l2(xs, x), 0.0);
  // With an update, x moves (the same call is not a no-op).
  const Tensor y = test::random_tensor({2, 5, 64}, 44).to(DType::BF16);
  residual_layer_norm_modulate_(xs, y, {}, 1e-6, {}, {}, shift, scale);
  EXPECT_GT(rel_l2(xs, x), 1e-2);
}

}  // namespace
}  // namespace wan::ops

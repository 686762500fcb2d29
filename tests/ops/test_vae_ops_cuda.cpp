// The VAE's ops on CUDA against the CPU reference on odd sizes: conv3d (kernels 3x3x3, 1x3x3,
// 3x1x1, 1x1x1; stride 2; symmetric and asymmetric padding), channel RMS norm, nearest upsampling,
// add_, strided device copies, f32 linear through the TF32 GEMM and f32 attention (head dim 96,
// with and without a bias). f32 outputs computed with TF32 (10 mantissa bits): relative L2 <= 5e-3;
// exact ops (copies, upsampling, add) <= 1e-7.
#include <gtest/gtest.h>

#include "backend/backend.h"
#include "core/stats.h"
#include "ops/attention.h"
#include "ops/conv.h"
#include "ops/elementwise.h"
#include "ops/linear.h"
#include "ops/vae_ops.h"
#include "test_util.h"

namespace wan::ops {
namespace {

Tensor gpu(const Tensor& t) { return to_device(t, Device::CUDA); }
Tensor host(const Tensor& t) { return to_device(t, Device::CPU); }

class VaeOpsCuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no GPU: " << cuda_device_summary();
  }
};

TEST_F(VaeOpsCuda, Conv3dMatchesTheCpuReference) {
  struct Case {
    int64_t C, T, H, W, O, kt, kh, kw;
    std::array<int64_t, 3> stride;
    std::array<int64_t, 4> pad;
  };
  int seed = 0;
  for (const Case& c : {Case{5, 3, 7, 9, 6, 3, 3, 3, {1, 1, 1}, {1, 1, 1, 1}}, Case{4, 1, 8, 6, 3, 1, 3, 3, {1, 2, 2}, {0, 1, 0, 1}},
                        Case{3, 5, 4, 5, 6, 3, 1, 1, {2, 1, 1}, {0, 0, 0, 0}}, Case{7, 2, 3, 3, 2, 1, 1, 1, {1, 1, 1}, {0, 0, 0, 0}},
                        Case{16, 4, 17, 11, 8, 3, 3, 3, {1, 1, 1}, {1, 1, 1, 1}}}) {
    const Tensor x = test::random_tensor({c.C, c.T, c.H, c.W}, ++seed);
    const Tensor w = test::random_tensor({c.O, c.C, c.kt, c.kh, c.kw}, ++seed, 0.2);
    const Tensor b = test::random_tensor({c.O}, ++seed);
    const Tensor ref = conv3d(x, w, b, c.stride, c.pad);
    const Tensor got = conv3d(gpu(x), gpu(w), gpu(b), c.stride, c.pad);
    ASSERT_EQ(got.shape(), ref.shape());
    EXPECT_LE(rel_l2(host(got), ref), 5e-3) << c.C << "x" << c.T << "x" << c.H << "x" << c.W << " k" << c.kt << c.kh
                                            << c.kw;
  }
}

TEST_F(VaeOpsCuda, PointwiseOps) {
  const Tensor x = test::random_tensor({7, 2, 5, 9}, 1, 3.0), gamma = test::random_tensor({7}, 2);
  EXPECT_LE(rel_l2(host(rms_norm_channels(gpu(x), gpu(gamma))), rms_norm_channels(x, gamma)), 1e-6);
  EXPECT_LE(rel_l2(host(upsample_nearest_2x(gpu(x))), upsample_nearest_2x(x)), 0.0);
  Tensor a = x.clone(), ga = gpu(x);
  const Tensor b = test::random_tensor({7, 2, 5, 9}, 3);
  add_(a, b);
  add_(ga, gpu(b));
  EXPECT_LE(rel_l2(host(ga), a), 1e-7);
}

TEST_F(VaeOpsCuda, StridedCopiesOnTheDevice) {
  const Tensor x = test::random_tensor({3, 4, 5, 6}, 4);
  const Tensor permuted = contiguous_on_device(gpu(x).permute({2, 0, 3, 1}));
  EXPECT_EQ(rel_l2(host(permuted), x.permute({2, 0, 3, 1}).contiguous()), 0.0);
  Tensor big = zeros_on({3, 6, 5, 6}, DType::F32, Device::CUDA);
  Tensor window = big.narrow(1, 1, 4);
  copy_into(window, gpu(x));
  const Tensor back = host(big);
  EXPECT_EQ(rel_l2(back.narrow(1, 1, 4).contiguous(), x), 0.0);
  const TensorStats pad = tensor_stats(back.narrow(1, 0, 1).contiguous());
  EXPECT_EQ(pad.min, 0.0);
  EXPECT_EQ(pad.max, 0.0);
  EXPECT_EQ(rel_l2(host(clone_on_device(gpu(x).select(1, 2))), x.select(1, 2).contiguous()), 0.0);
}

TEST_F(VaeOpsCuda, F32LinearAndAttention) {
  const Tensor x = test::random_tensor({300, 96}, 5), w = test::random_tensor({200, 96}, 6, 0.1);
  const Tensor b = test::random_tensor({200}, 7);
  EXPECT_LE(rel_l2(host(linear(gpu(x), gpu(w), gpu(b))), linear(x, w, b)), 5e-3);
  EXPECT_LE(rel_l2(host(linear(gpu(x), gpu(w), Tensor())), linear(x, w, Tensor())), 5e-3);
  for (bool with_bias : {false, true}) {
    const Tensor q = test::random_tensor({2, 37, 2, 96}, 8), k = test::random_tensor({2, 45, 2, 96}, 9);
    const Tensor v = test::random_tensor({2, 45, 2, 96}, 10);
    const Tensor bias = with_bias ? test::random_tensor({2, 37, 45}, 11) : Tensor();
    const Tensor ref = attention(q, k, v, {}, 0.1, bias);
    const Tensor got = attention(gpu(q), gpu(k), gpu(v), {}, 0.1, with_bias ? gpu(bias) : Tensor());
    EXPECT_LE(rel_l2(host(got), ref), 5e-3) << with_bias;
  }
}

}  // namespace
}  // namespace wan::ops

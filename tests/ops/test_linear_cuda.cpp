// linear on CUDA (cuBLASLt bf16) against the CPU reference on the same bf16-rounded inputs, on odd
// sizes. bf16 output: relative L2 <= 1e-2 (tests/data/golden/README.md); in practice ~2e-3.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "backend/backend.h"
#include "core/error.h"
#include "core/stats.h"
#include "ops/activation.h"
#include "ops/linear.h"
#include "test_util.h"

namespace wan::ops {
namespace {

Tensor bf16_round(const Tensor& t) { return t.to(DType::BF16).to(DType::F32); }

class LinearCuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no GPU: " << cuda_device_summary();
  }
};

TEST_F(LinearCuda, MatchesTheCpuReference) {
  int seed = 0;
  for (auto [M, K, N] : {std::tuple{1, 64, 8}, {7, 72, 24}, {333, 200, 520}, {1000, 512, 1536}, {75, 5120, 128}}) {
    for (bool with_bias : {false, true}) {
      for (Activation act : {Activation::None, Activation::GeluTanh}) {
        const Tensor x = bf16_round(test::random_tensor({int64_t(M), int64_t(K)}, ++seed));
        const Tensor w = bf16_round(test::random_tensor({int64_t(N), int64_t(K)}, ++seed, 0.05));
        const Tensor b = with_bias ? bf16_round(test::random_tensor({int64_t(N)}, ++seed)) : Tensor();
        const Tensor ref = linear(x, w, b, act);
        const Tensor y = linear(to_device(x.to(DType::BF16), Device::CUDA), to_device(w.to(DType::BF16), Device::CUDA),
                                with_bias ? to_device(b.to(DType::BF16), Device::CUDA) : Tensor(), act);
        ASSERT_EQ(y.device(), Device::CUDA);
        ASSERT_EQ(y.dtype(), DType::BF16);
        const Tensor host = to_device(y, Device::CPU);
        EXPECT_EQ(tensor_stats(host).non_finite, 0);
        const double err = rel_l2(host, ref);
        EXPECT_LE(err, 1e-2) << M << "x" << K << "x" << N << " bias " << with_bias << " act " << int(act);
        EXPECT_GE(err, 0.0);
      }
    }
  }
}

TEST_F(LinearCuda, GeluEpilogueIsTheTanhApproximation) {
  // Large pre-activations where erf-GELU and tanh-GELU differ by ~1e-3 relative; bf16 output
  // rounding is ~2e-3 per element, so compare many elements: the mean signed difference from the
  // tanh form must be far below the gap between the two forms.
  const int64_t M = 512, K = 64, N = 256;
  const Tensor x = bf16_round(test::random_tensor({M, K}, 101));
  const Tensor w = bf16_round(test::random_tensor({N, K}, 102, 0.3));
  const Tensor pre = linear(x, w, Tensor());
  const Tensor y = to_device(linear(to_device(x.to(DType::BF16), Device::CUDA), to_device(w.to(DType::BF16), Device::CUDA),
                                    Tensor(), Activation::GeluTanh), Device::CPU).to(DType::F32);
  double diff_tanh = 0, diff_erf = 0;
  const float* p = pre.data<float>();
  const float* g = y.data<float>();
  for (int64_t i = 0; i < pre.numel(); ++i) {
    const double erf_gelu = 0.5 * p[i] * (1.0 + std::erf(p[i] / std::sqrt(2.0)));
    diff_tanh += std::fabs(g[i] - gelu_tanh_scalar(p[i]));
    diff_erf += std::fabs(g[i] - erf_gelu);
  }
  EXPECT_LT(diff_tanh, diff_erf) << "cuBLASLt's GELU is closer to erf-GELU than to tanh-GELU";
}

// linear_into a slice of rows of a larger buffer: bit for bit the new tensor linear returns, the
// rows around it untouched; an output of the wrong shape or dtype is refused.
TEST_F(LinearCuda, IntoASliceOfRowsEqualsTheNewTensor) {
  const int64_t M = 333, K = 200, N = 520, before = 16, after = 5;
  const Tensor x = to_device(test::random_tensor({M, K}, 201).to(DType::BF16), Device::CUDA);
  const Tensor w = to_device(test::random_tensor({N, K}, 202, 0.05).to(DType::BF16), Device::CUDA);
  const Tensor b = to_device(test::random_tensor({N}, 203).to(DType::BF16), Device::CUDA);
  Tensor buffer = to_device(Tensor::zeros({before + M + after, N}, DType::BF16), Device::CUDA);
  Tensor rows = buffer.narrow(0, before, M);
  linear_into(x, w, b, Activation::GeluTanh, rows);
  const Tensor fresh = to_device(linear(x, w, b, Activation::GeluTanh), Device::CPU);
  std::string why;
  EXPECT_TRUE(test::holds_rows_only(buffer, before, fresh, why)) << why;
  EXPECT_GT(tensor_stats(fresh.to(DType::F32)).stddev, 0.1);
  Tensor wrong_shape = to_device(Tensor::zeros({M, N + 8}, DType::BF16), Device::CUDA);
  EXPECT_THROW(linear_into(x, w, b, Activation::None, wrong_shape), Error);
  Tensor wrong_dtype = to_device(Tensor::zeros({M, N}, DType::F32), Device::CUDA);
  EXPECT_THROW(linear_into(x, w, b, Activation::None, wrong_dtype), Error);
}

TEST_F(LinearCuda, RejectsWrongDTypesAndDevices) {
  const Tensor w = to_device(test::random_tensor({4, 8}, 1).to(DType::BF16), Device::CUDA);
  EXPECT_THROW(linear(to_device(test::random_tensor({2, 8}, 2).to(DType::F16), Device::CUDA), w, Tensor()),
               Error);  // f16 x
  EXPECT_THROW(linear(to_device(test::random_tensor({2, 8}, 2), Device::CUDA), w, Tensor(), Activation::GeluTanh),
               Error);  // the f32 path has no GELU epilogue
  EXPECT_THROW(linear(test::random_tensor({2, 8}, 2).to(DType::BF16), w, Tensor()), Error);            // x on the CPU
  EXPECT_THROW(linear(to_device(test::random_tensor({2, 8}, 2).to(DType::BF16), Device::CUDA), w, Tensor(),
                      Activation::SiLU), Error);
}

// The f32 path for small inputs (the time embedding): f32 x, bf16 or f32 weights, f32 out.
TEST_F(LinearCuda, F32PathForSmallInputsMatchesTheCpuReference) {
  int seed = 100;
  for (auto [M, K, N] : {std::tuple{1, 256, 5120}, {2, 333, 77}, {5, 40, 1}}) {
    for (DType wtype : {DType::BF16, DType::F32}) {
      for (Activation act : {Activation::None, Activation::SiLU}) {
        const Tensor x = test::random_tensor({int64_t(M), int64_t(K)}, ++seed);
        const Tensor w = bf16_round(test::random_tensor({int64_t(N), int64_t(K)}, ++seed, 0.05));
        const Tensor b = bf16_round(test::random_tensor({int64_t(N)}, ++seed));
        const Tensor y = linear(to_device(x, Device::CUDA), to_device(w.to(wtype), Device::CUDA),
                                to_device(b.to(wtype), Device::CUDA), act);
        ASSERT_EQ(y.dtype(), DType::F32);
        EXPECT_LE(rel_l2(to_device(y, Device::CPU), linear(x, w, b, act)), 1e-5) << M << "x" << K << "x" << N;
      }
    }
  }
  const Tensor x = test::random_tensor({3, 1000}, 1, 4.0);
  EXPECT_LE(rel_l2(to_device(silu(to_device(x, Device::CUDA)), Device::CPU), silu(x)), 1e-6);
}

}  // namespace
}  // namespace wan::ops

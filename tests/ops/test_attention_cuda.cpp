// attention on CUDA (cuDNN fused SDPA, bf16) against the CPU reference on the same bf16-rounded
// inputs: odd lengths (not multiples of 64/128), one token, key lengths, cross-attention shapes,
// and Q/K/V read as strided views of one fused QKV buffer. Relative L2 <= 1e-2.
#include <gtest/gtest.h>

#include <cmath>

#include "backend/backend.h"
#include "core/stats.h"
#include "ops/attention.h"
#include "test_util.h"

namespace wan::ops {
namespace {

Tensor bf16_round(const Tensor& t) { return t.to(DType::BF16).to(DType::F32); }
Tensor gpu(const Tensor& t) { return to_device(t.to(DType::BF16), Device::CUDA); }

class AttentionCuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no GPU: " << cuda_device_summary();
  }
};

TEST_F(AttentionCuda, MatchesTheCpuReference) {
  struct Case {
    int64_t B, Lq, Lk, H, D;
    std::vector<int64_t> lens;
  };
  const std::vector<Case> cases = {{1, 77, 77, 2, 128, {}},   {2, 100, 100, 3, 64, {60, 100}}, {1, 301, 512, 2, 128, {}},
                                   {1, 1, 1, 1, 128, {}},     {2, 129, 129, 4, 128, {129, 1}}, {1, 1000, 1000, 1, 128, {}}};
  uint64_t seed = 10;
  for (const Case& c : cases) {
    const Tensor q = bf16_round(test::random_tensor({c.B, c.Lq, c.H, c.D}, ++seed));
    const Tensor k = bf16_round(test::random_tensor({c.B, c.Lk, c.H, c.D}, ++seed));
    const Tensor v = bf16_round(test::random_tensor({c.B, c.Lk, c.H, c.D}, ++seed));
    const double scale = 1.0 / std::sqrt(double(c.D));
    const Tensor ref = attention(q, k, v, c.lens, scale);
    const Tensor out = to_device(attention(gpu(q), gpu(k), gpu(v), c.lens, scale), Device::CPU);
    ASSERT_EQ(out.shape(), ref.shape());
    EXPECT_EQ(tensor_stats(out).non_finite, 0);
    EXPECT_LE(rel_l2(out, ref), 1e-2) << "B " << c.B << " Lq " << c.Lq << " Lk " << c.Lk << " H " << c.H << " D " << c.D;
  }
}

TEST_F(AttentionCuda, ReadsQkvFromOneFusedBuffer) {
  // qkv [B, L, 3, H, D] as one projection writes it; q, k, v are strided views (row stride 3·H·D).
  const int64_t B = 1, L = 203, H = 2, D = 128;
  const Tensor qkv = bf16_round(test::random_tensor({B, L, 3, H, D}, 77));
  const Tensor dev = gpu(qkv);
  auto view = [&](const Tensor& base, int64_t part) {
    return Tensor::from_storage_strided(base.storage(), size_t(part * H * D) * dtype_size(base.dtype()), {B, L, H, D},
                                        {L * 3 * H * D, 3 * H * D, D, 1}, base.dtype());
  };
  const Tensor ref = attention(qkv.select(2, 0).contiguous(), qkv.select(2, 1).contiguous(),
                               qkv.select(2, 2).contiguous(), {}, 0.1);
  const Tensor out = to_device(attention(view(dev, 0), view(dev, 1), view(dev, 2), {}, 0.1), Device::CPU);
  EXPECT_LE(rel_l2(out, ref), 1e-2);
}

TEST_F(AttentionCuda, RejectsWhatItCannotRun) {
  const Tensor q = gpu(test::random_tensor({1, 4, 1, 64}, 1));
  EXPECT_THROW(attention(q, q, q, {}, 1.0, test::random_tensor({1, 4, 4}, 2)), Error);  // bias
  EXPECT_THROW(attention(to_device(test::random_tensor({1, 4, 1, 64}, 3), Device::CUDA), q, q, {}, 1.0), Error);  // f32
}

}  // namespace
}  // namespace wan::ops

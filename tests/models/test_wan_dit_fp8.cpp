// The DiT with FP8 E4M3 block weights (CPU emulation, models/wan_dit_fp8.h) against every dit_*
// golden. Bound: E4M3 keeps 3 mantissa bits, so a rounded weight is off by up to 2^-4 of itself
// and by ~1.8% in RMS (uniform rounding over the step); a product with K such weights is off by
// about the same fraction of its size, and the DiT's residual stream carries the sum of its
// blocks' updates: the output lands about one matrix's error from the f32 result (measured:
// 0.95e-2 to 1.18e-2 on the five cases, per row and per tensor alike). We allow 4e-2, twice that
// RMS, and require the error to be real (> 2e-3: the quantisation did happen).
#include <gtest/gtest.h>

#include "core/stats.h"
#include "models/wan_dit.h"
#include "models/wan_dit_case.h"
#include "models/wan_dit_fp8.h"
#include "test_util.h"

namespace wan {
namespace {

class WanDiTFp8Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(WanDiTFp8Golden, FollowsTheOfficialOutputWithinE4M3sError) {
  const WanDiTCase c = read_wan_dit_case(GetParam());
  if (c.out.empty()) GTEST_SKIP() << "no outputs in " << GetParam();
  const WanDiT model = WanDiT::load(wan_dit_case_checkpoint(GetParam()));
  for (ops::Fp8Scaling s : {ops::Fp8Scaling::PerRow, ops::Fp8Scaling::PerTensor}) {
    const WanDiT fp8(model.config(), with_fp8_block_weights(model.weights(), s));
    const std::vector<Tensor> out = fp8.forward(c.x, c.t, c.context, c.seq_len);
    for (size_t i = 0; i < out.size(); ++i) {
      const double err = rel_l2(out[i], c.out[i]);
      std::printf("%s out.%zu, fp8 weights %s: relative L2 %.3e\n", GetParam().c_str(), i,
                  s == ops::Fp8Scaling::PerRow ? "per row" : "per tensor", err);
      EXPECT_LE(err, 4e-2) << i;
      EXPECT_GT(err, 2e-3) << i;
    }
  }
}

std::string case_name(const ::testing::TestParamInfo<std::string>& info) { return test::golden_case_name(info.param); }

INSTANTIATE_TEST_SUITE_P(Golden, WanDiTFp8Golden, ::testing::ValuesIn(test::golden_files("dit_", ".io.safetensors")),
                         case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(WanDiTFp8Golden);

}  // namespace
}  // namespace wan

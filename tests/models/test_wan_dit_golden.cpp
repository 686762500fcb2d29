// Golden tests of the DiT: every dit_*.io.safetensors case in $WAN_GOLDEN_DIR against the official
// outputs, on the CPU reference (relative L2 <= 1e-4, tests/data/golden/README.md). Cases and
// their parameters come from the files; the checkpoint of `<name>.<case>.io.safetensors` is the
// folder `<name>/`.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "core/stats.h"
#include "models/wan_dit.h"
#include "models/wan_dit_case.h"
#include "test_util.h"

namespace wan {
namespace {

constexpr double kTolerance = 1e-4;

std::vector<std::string> dit_cases() { return test::golden_files("dit_", ".io.safetensors"); }

const WanDiT& model_for(const std::string& folder) {
  static std::map<std::string, WanDiT> cache;
  auto it = cache.find(folder);
  if (it == cache.end()) it = cache.emplace(folder, WanDiT::load(folder)).first;
  return it->second;
}

TEST(WanDiTGolden, CasesExist) {
  EXPECT_FALSE(dit_cases().empty()) << "no dit_*.io.safetensors in " << test::golden_dir();
}

class WanDiTGoldenCase : public ::testing::TestWithParam<std::string> {};

TEST_P(WanDiTGoldenCase, MatchesOfficialOutput) {
  const WanDiTCase c = read_wan_dit_case(GetParam());
  ASSERT_FALSE(c.out.empty()) << GetParam() << " has no reference outputs";
  const WanDiT& model = model_for(wan_dit_case_checkpoint(GetParam()));

  std::vector<Tensor> blocks;
  const std::vector<Tensor> out =
      model.forward(c.x, c.t, c.context, c.seq_len, [&](int64_t, const Tensor& x) { blocks.push_back(x.clone()); });

  ASSERT_EQ(out.size(), c.out.size());
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_EQ(out[i].shape(), c.out[i].shape()) << "sample " << i;
    // The grid the model derived from the latent must be the case's metadata grid.
    const auto& p = model.config().patch_size;
    EXPECT_EQ(c.grids[i], (std::vector<int64_t>{out[i].size(1) / p[0], out[i].size(2) / p[1], out[i].size(3) / p[2]}));
    EXPECT_EQ(tensor_stats(out[i]).non_finite, 0);
    const double err = rel_l2(out[i], c.out[i]);
    EXPECT_LE(err, kTolerance) << "out." << i;
    // Not vacuous: the prediction is far from zero and from the input.
    EXPECT_GT(tensor_stats(out[i]).stddev, 1e-3);
  }
  ASSERT_TRUE(c.block_out.empty() || c.block_out.size() == blocks.size());
  for (size_t k = 0; k < c.block_out.size(); ++k) {
    ASSERT_EQ(blocks[k].shape(), c.block_out[k].shape()) << "block " << k;
    EXPECT_LE(rel_l2(blocks[k], c.block_out[k]), kTolerance) << "block_out." << k;
  }
}

std::string case_name(const ::testing::TestParamInfo<std::string>& info) { return test::golden_case_name(info.param); }

INSTANTIATE_TEST_SUITE_P(Golden, WanDiTGoldenCase, ::testing::ValuesIn(dit_cases()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(WanDiTGoldenCase);

}  // namespace
}  // namespace wan

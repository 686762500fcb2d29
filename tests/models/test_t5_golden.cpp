// Golden tests of the T5 encoder: every t5_*.io.safetensors case in $WAN_GOLDEN_DIR with the
// checkpoint `<name>.pth` beside it and the config in the case's metadata. `out` and every
// `context.i` must match with relative L2 <= 1e-4.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/stats.h"
#include "io/safetensors.h"
#include "models/t5_encoder.h"
#include "test_util.h"

namespace wan {
namespace {

std::vector<std::string> t5_cases() { return test::golden_files("t5_", ".io.safetensors"); }

TEST(T5Golden, CasesExist) { EXPECT_FALSE(t5_cases().empty()) << "no t5_*.io.safetensors in " << test::golden_dir(); }

class T5GoldenCase : public ::testing::TestWithParam<std::string> {};

TEST_P(T5GoldenCase, MatchesOfficialOutput) {
  const auto io = SafetensorsFile::open(GetParam());
  const std::string pth = test::golden_sibling(GetParam(), ".pth");
  ASSERT_TRUE(io->metadata().count("config")) << GetParam() << " has no config metadata";
  const T5Config config = T5Config::from_json(io->metadata().at("config"), GetParam());
  const T5Encoder encoder = T5Encoder::load(pth, config);

  const Tensor ids = io->tensor("ids"), mask = io->tensor("mask");
  const Tensor out = encoder.forward(ids, mask);
  const Tensor ref = io->tensor("out");
  ASSERT_EQ(out.shape(), ref.shape());
  EXPECT_EQ(tensor_stats(out).non_finite, 0);
  const double err = rel_l2(out, ref);
  RecordProperty("rel_l2_out", std::to_string(err));
  EXPECT_LE(err, 1e-4);
  EXPECT_GT(tensor_stats(out).stddev, 1e-2);

  const std::vector<Tensor> contexts = encoder.encode(ids, mask);
  ASSERT_EQ(int64_t(contexts.size()), ids.size(0));
  for (size_t i = 0; i < contexts.size(); ++i) {
    const Tensor ref_i = io->tensor("context." + std::to_string(i));
    ASSERT_EQ(contexts[i].shape(), ref_i.shape()) << "context." << i;
    EXPECT_LE(rel_l2(contexts[i], ref_i), 1e-4) << "context." << i;
  }
}

std::string case_name(const ::testing::TestParamInfo<std::string>& info) { return test::golden_case_name(info.param); }

INSTANTIATE_TEST_SUITE_P(Golden, T5GoldenCase, ::testing::ValuesIn(t5_cases()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(T5GoldenCase);

}  // namespace
}  // namespace wan

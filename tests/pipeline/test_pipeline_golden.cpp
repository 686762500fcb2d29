// The whole T2V-A14B loop against pipeline_*.io.safetensors: the two experts of `<name>/`, the
// VAE of vae21_tiny.pth (config from vae21_tiny.io.safetensors), the case's noise and contexts
// in place of torch.randn and T5, and its size, frames, steps, shift, guide scales and boundary.
// video.<solver> must match within relative L2 1e-4 for every solver in the file.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/stats.h"
#include "io/safetensors.h"
#include "pipeline/pipeline_golden_case.h"
#include "test_util.h"

namespace wan {
namespace {

nlohmann::json meta(const SafetensorsFile& f, const std::string& key) {
  WAN_CHECK(f.metadata().count(key), f.path(), ": metadata has no '", key, "'");
  return nlohmann::json::parse(f.metadata().at(key));
}

std::vector<std::string> pipeline_cases() { return test::golden_files("pipeline_", ".io.safetensors"); }

TEST(PipelineGolden, CasesExist) { EXPECT_FALSE(pipeline_cases().empty()); }

class PipelineGoldenCase : public ::testing::TestWithParam<std::string> {};

TEST_P(PipelineGoldenCase, VideoMatchesWanT2VGenerate) {
  const auto io = SafetensorsFile::open(GetParam());
  const auto size = meta(*io, "size").get<std::vector<int64_t>>();  // [W, H]
  const auto results = test::run_pipeline_golden(GetParam(), /*cuda=*/false);
  EXPECT_GE(results.size(), 1u);
  for (const auto& r : results) {
    EXPECT_GT(r.high_noise_steps, 0);
    EXPECT_LT(r.high_noise_steps, r.steps);  // both experts ran
    ASSERT_EQ(r.video.shape(), r.reference.shape()) << r.name;
    EXPECT_EQ(r.video.size(1), meta(*io, "frame_num").get<int64_t>());
    EXPECT_EQ(r.video.size(3), size[0]);
    EXPECT_EQ(r.video.size(2), size[1]);
    const double err = rel_l2(r.video, r.reference);
    RecordProperty("rel_l2_" + r.name, std::to_string(err));
    EXPECT_LE(err, 1e-4) << r.name;
  }
}

std::string case_name(const ::testing::TestParamInfo<std::string>& info) { return test::golden_case_name(info.param); }

INSTANTIATE_TEST_SUITE_P(Golden, PipelineGoldenCase, ::testing::ValuesIn(pipeline_cases()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(PipelineGoldenCase);

}  // namespace
}  // namespace wan

// The whole T2V-A14B loop with both experts on the GPU (bf16) against pipeline_*.io.safetensors.
// Bound: one bf16 DiT call lands ~3.3e-3 from the f32 reference (test_models_cuda); the loop feeds
// each call's error into the next of its 10 steps and the VAE passes it on, so the video may drift
// further than one call. We allow 3e-2: ten times one call's error, and still two orders below
// the distance between two different videos of this model (~1.0).
#include <gtest/gtest.h>

#include <cstdio>

#include "backend/backend.h"
#include "core/stats.h"
#include "pipeline/pipeline_golden_case.h"
#include "test_util.h"

namespace wan {
namespace {

class PipelineCudaGolden : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no GPU: " << cuda_device_summary();
  }
};

TEST_P(PipelineCudaGolden, VideoMatchesWithinTheBf16Bound) {
  const auto results = test::run_pipeline_golden(GetParam(), /*cuda=*/true);
  EXPECT_GE(results.size(), 1u);
  for (const auto& r : results) {
    ASSERT_EQ(r.video.shape(), r.reference.shape());
    EXPECT_EQ(tensor_stats(r.video).non_finite, 0);
    const double err = rel_l2(r.video, r.reference);
    std::printf("%s %s on CUDA: relative L2 %.3e\n", GetParam().c_str(), r.name.c_str(), err);
    EXPECT_LE(err, 3e-2) << r.name;
  }
}

// With the inactive expert offloaded (one on the GPU at a time, swapped at the boundary step and
// back for the next solver's run): the same videos bit for bit.
TEST_P(PipelineCudaGolden, OffloadingTheInactiveExpertKeepsTheVideo) {
  const auto resident = test::run_pipeline_golden(GetParam(), /*cuda=*/true);
  size_t swaps = 0;
  const auto offloaded = test::run_pipeline_golden(GetParam(), /*cuda=*/true, /*offload=*/true, &swaps);
  ASSERT_EQ(offloaded.size(), resident.size());
  for (size_t i = 0; i < resident.size(); ++i) {
    EXPECT_GT(resident[i].high_noise_steps, 0);
    EXPECT_EQ(rel_l2(offloaded[i].video, resident[i].video), 0.0) << resident[i].name;
  }
  EXPECT_EQ(swaps, 2 * resident.size() - 1) << "one swap per expert change";
}

INSTANTIATE_TEST_SUITE_P(Golden, PipelineCudaGolden, ::testing::ValuesIn(test::golden_files("pipeline_", ".io.safetensors")));
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(PipelineCudaGolden);

}  // namespace
}  // namespace wan

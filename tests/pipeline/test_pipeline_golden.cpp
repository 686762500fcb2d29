// The whole T2V-A14B loop against pipeline_*.io.safetensors: the two experts of `<name>/`, the
// VAE of vae21_tiny.pth (config from vae21_tiny.io.safetensors), the case's noise and contexts
// in place of torch.randn and T5, and its size, frames, steps, shift, guide scales and boundary.
// video.<solver> must match within relative L2 1e-4 for every solver in the file.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/stats.h"
#include "io/safetensors.h"
#include "models/wan_vae.h"
#include "pipeline/denoise.h"
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
  const std::filesystem::path path(GetParam());
  const std::string name = path.filename().string();
  const std::filesystem::path dir = path.parent_path() / name.substr(0, name.find('.'));
  const WanDiT high = WanDiT::load((dir / "high_noise_model").string());
  const WanDiT low = WanDiT::load((dir / "low_noise_model").string());
  const auto vae_case = SafetensorsFile::open((path.parent_path() / "vae21_tiny.io.safetensors").string());
  WanVAE vae = WanVAE::load((path.parent_path() / "vae21_tiny.pth").string(),
                            WanVAEConfig::from_json(vae_case->metadata().at("config"), vae_case->path(), 21));

  const auto size = meta(*io, "size").get<std::vector<int64_t>>();  // [W, H]
  const auto guide = meta(*io, "guide_scale").get<std::vector<double>>();  // [low, high]
  DenoiseInputs in;
  in.noise = io->tensor("noise");
  in.context = io->tensor("context");
  in.context_null = io->tensor("context_null");
  in.high_noise = &high;
  in.low_noise = &low;
  in.boundary = meta(*io, "boundary").get<double>();
  in.guide_low = guide[0];
  in.guide_high = guide[1];
  in.steps = meta(*io, "steps").get<int64_t>();
  in.shift = meta(*io, "shift").get<double>();
  ASSERT_EQ(meta(*io, "num_train_timesteps").get<int64_t>(), 1000);

  int solvers = 0;
  for (const auto& e : io->entries()) {
    if (e.name.rfind("video.", 0) != 0) continue;
    ++solvers;
    in.solver = solver_from_name(e.name.substr(6));
    int64_t high_steps = 0;
    const Tensor latent = denoise(in, [&](int64_t, int64_t, int64_t, bool is_high) {
      high_steps += is_high;
      return true;
    });
    EXPECT_GT(high_steps, 0);
    EXPECT_LT(high_steps, in.steps);  // both experts ran
    const Tensor video = vae.decode(latent);
    const Tensor ref = io->tensor(e.name);
    ASSERT_EQ(video.shape(), ref.shape()) << e.name;
    EXPECT_EQ(video.size(1), meta(*io, "frame_num").get<int64_t>());
    EXPECT_EQ(video.size(3), size[0]);
    EXPECT_EQ(video.size(2), size[1]);
    const double err = rel_l2(video, ref);
    RecordProperty("rel_l2_" + e.name, std::to_string(err));
    EXPECT_LE(err, 1e-4) << e.name;
  }
  EXPECT_GE(solvers, 1);
}

std::string case_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string n = std::filesystem::path(info.param).filename().string();
  n = n.substr(0, n.size() - std::string(".io.safetensors").size());
  for (char& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Golden, PipelineGoldenCase, ::testing::ValuesIn(pipeline_cases()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(PipelineGoldenCase);

}  // namespace
}  // namespace wan

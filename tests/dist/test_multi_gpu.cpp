// Several GPUs (CTest label gpu): each test, on a machine with enough GPUs (2, or 4 for the last
// two) and NCCL, starts this binary again as that many ranks (dist::launch_ranks) with
// --gtest_filter naming itself; the ranks do the work, and the test passes when every rank does.
// Skipped with a message elsewhere.
//
// Bounds: CFG-parallel runs the same batch-1 forwards as one GPU, only on two cards; but each
// process times and picks its own cuDNN/cuBLASLt candidates, so the two runs differ by bf16
// roundings that the loop carries from step to step: measured 7.4e-3 on the latent after 10
// steps (as far as bf16 lands from the f32 official result, 7e-3), so the pipeline golden's 3e-2.
// The whole-video test compares within one process (the same kernels), where only the exchange
// itself could differ: 1e-3.
// Ulysses runs the same per-token arithmetic; only the attention sees H/N heads over the padded
// sequence, which may change cuDNN's tiling and so a bf16 rounding here and there: 5e-3 against
// one GPU (half the goldens' bf16 bound), and the goldens' own 1e-2.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "backend/backend.h"
#include "core/log.h"
#include "core/precision.h"
#include "core/stats.h"
#include "dist/launcher.h"
#include "dist/process_group.h"
#include "io/safetensors.h"
#include "models/wan_dit_case.h"
#include "models/wan_dit_cuda.h"
#include "pipeline/demo_checkpoint.h"
#include "pipeline/denoise.h"
#include "pipeline/generate_frames.h"
#include "pipeline/text_to_video.h"
#include "test_util.h"

namespace wan {
namespace {

// In the test process: start `world` ranks running this same test and expect them all to pass.
// In a rank: fall through to the test's body.
#define WAN_RUN_AS_RANKS(world)                                                                               \
  if (!dist::rank_from_environment()) {                                                                      \
    if (cuda_device_count() < (world)) GTEST_SKIP() << "needs " << (world) << " GPUs; " << cuda_device_count() \
                                                    << " here (" << cuda_device_summary() << ")";             \
    if (!dist::nccl_available()) GTEST_SKIP() << dist::nccl_description();                                   \
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();                               \
    const std::string filter = std::string("--gtest_filter=") + info->test_suite_name() + "." + info->name(); \
    ASSERT_EQ(dist::launch_ranks((world), {filter}), 0) << "a rank failed (its output is above)";            \
    return;                                                                                                   \
  }

std::shared_ptr<dist::ProcessGroup> join(int cfg, int ulysses) {
  return dist::ProcessGroup::join({cfg, ulysses}, *dist::rank_from_environment());
}

// Sets an environment variable for its lifetime (what the ranks it launches inherit), then puts
// the old value back.
class ScopedEnvironment {
 public:
  ScopedEnvironment(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnvironment() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// In FP8 each rank quantises the q, k and v of its own heads (one scale per tensor, from the |max|
// of what it holds), so its attention rounds differently from one GPU's: bounded by half the FP8
// goldens' 5e-2 against one GPU (as bf16 takes half of its own), and by that 5e-2 against the goldens.
TEST(MultiGpu, UlyssesDiTMatchesOneGpuAndTheGoldens) {
  WAN_RUN_AS_RANKS(2);
  const auto group = join(1, 2);
  std::vector<Precision> precisions{Precision::BF16};
  if (fp8_products_supported(cuda_compute_capability())) precisions.push_back(Precision::FP8);
  for (const Precision precision : precisions) {
    const bool fp8 = precision == Precision::FP8;
    int checked = 0;
    for (const std::string& path : test::golden_files("dit_", ".io.safetensors")) {
      const WanDiTCase c = read_wan_dit_case(path);
      if (c.out.empty()) continue;
      WanDiTCuda model = WanDiTCuda::load(wan_dit_case_checkpoint(path), precision);
      if (model.config().num_heads % 2 != 0) {
        std::printf("%s: %lld heads, not split over 2 GPUs\n", path.c_str(), (long long)model.config().num_heads);
        continue;
      }
      const std::vector<Tensor> alone = model.forward(c.x, c.t, c.context, c.seq_len);
      model.set_sequence_parallel(group->ulysses);
      const std::vector<Tensor> split = model.forward(c.x, c.t, c.context, c.seq_len);
      ASSERT_EQ(split.size(), c.out.size());
      for (size_t i = 0; i < split.size(); ++i) {
        const double vs_one = rel_l2(split[i], alone[i]), vs_golden = rel_l2(split[i], c.out[i]);
        std::printf("rank %d %s %s out.%zu (seq_len %lld): vs one GPU %.3e, vs golden %.3e\n", group->info.rank,
                    precision_name(precision), path.c_str(), i, (long long)c.seq_len, vs_one, vs_golden);
        EXPECT_LE(vs_one, fp8 ? 2.5e-2 : 5e-3) << precision_name(precision) << " " << path << " out." << i;
        EXPECT_LE(vs_golden, fp8 ? 5e-2 : 1e-2) << precision_name(precision) << " " << path << " out." << i;
      }
      ++checked;
    }
    EXPECT_GT(checked, 0) << "no dit_* golden case with an even head count";
  }
}

TEST(MultiGpu, CfgParallelDenoisingMatchesOneGpu) {
  WAN_RUN_AS_RANKS(2);
  const auto group = join(2, 1);
  const auto cases = test::golden_files("pipeline_", ".io.safetensors");
  ASSERT_FALSE(cases.empty());
  for (const std::string& path : cases) {
    const auto io = SafetensorsFile::open(path);
    const std::filesystem::path dir = test::golden_sibling(path, "");
    const WanDiTCuda high = WanDiTCuda::load((dir / "high_noise_model").string());
    const WanDiTCuda low = WanDiTCuda::load((dir / "low_noise_model").string());
    DenoiseInputs in;
    in.noise = io->tensor("noise");
    in.context = io->tensor("context");
    in.context_null = io->tensor("context_null");
    in.high_noise = &high;
    in.low_noise = &low;
    auto meta = [&](const char* key) { return nlohmann::json::parse(io->metadata().at(key)); };
    const auto guide = meta("guide_scale").get<std::vector<double>>();  // [low, high]
    in.boundary = meta("boundary").get<double>();
    in.guide_low = guide[0];
    in.guide_high = guide[1];
    in.steps = meta("steps").get<int64_t>();
    in.shift = meta("shift").get<double>();
    const Tensor alone = denoise(in);
    in.cfg_group = group->cfg.get();
    in.cfg_branch = group->cfg_branch();
    const Tensor split = denoise(in);
    const double err = rel_l2(split, alone);
    std::printf("rank %d %s: CFG-parallel latent vs one GPU %.3e\n", group->info.rank, path.c_str(), err);
    EXPECT_LE(err, 3e-2);
    EXPECT_GT(rel_l2(alone, in.noise), 1e-1);  // the loop did move the latent
  }
}

// The whole pipeline (text on rank 0, broadcast; rank 0 decodes) on the demo checkpoint, against
// the one-GPU pipeline in rank 0's process. Each process picks its own kernels where it first meets
// a shape (the fastest of timed candidates), and two processes may pick differently: with other
// multi-GPU tests on the same cards rank 1 once did, and the frames moved 1.5e-2 to 2.1e-2 from one
// GPU's (a twenty-first session run on four H200s). So the ranks share a tuning-cache file of this
// test's own: rank 0 runs the one-GPU pipeline first, its choices going to the file, and rank 1
// waits for it and reads them at its first choice. With the same kernels everywhere only the
// exchange itself could make a difference: 1e-3.
TEST(MultiGpu, CfgParallelVideoMatchesOneGpu) {
  std::unique_ptr<test::TempDir> cache_dir;  // the launching process's; removed once the ranks end
  std::unique_ptr<ScopedEnvironment> cache_env;
  if (!dist::rank_from_environment()) {
    cache_dir = std::make_unique<test::TempDir>();
    cache_env = std::make_unique<ScopedEnvironment>("WAN_TUNING_CACHE", cache_dir->file("tuning-cache.tsv"));
  }
  WAN_RUN_AS_RANKS(2);
  const auto group = join(2, 1);
  const test::TempDir tmp;
  const std::string folder =
      ensure_demo_checkpoint(tmp.file("demo"), std::string(WAN_SOURCE_DIR) + "/tests/data");
  set_log_level(LogLevel::Error);
  const GenerateParams p = resolve_params(task_config("t2v-A14B"), test::tiny_request(11, "a lighthouse at dusk"));
  GenerateCallbacks cb;
  std::vector<Tensor> reference;
  if (group->is_output_rank()) {
    TextToVideo alone = TextToVideo::load(folder, "", Device::CUDA);
    cb.on_frames = [&](const Tensor& f) { reference.push_back(f.clone()); };
    alone.generate(p, cb);
  }
  group->world->barrier();
  if (!group->is_output_rank()) {  // its first look at the cache: rank 0's choices are in the file
    const std::string cache = tuning_cache_description();
    EXPECT_EQ(cache.find(" (0 choices"), std::string::npos) << cache;
    EXPECT_EQ(cache.find("off (WAN_TUNING_CACHE=off)"), std::string::npos) << cache;
  }
  TextToVideo split = TextToVideo::load(folder, "", Device::CUDA, group);
  EXPECT_EQ(split.produces_frames(), group->is_output_rank());
  std::vector<Tensor> frames;
  cb.on_frames = [&](const Tensor& f) { frames.push_back(f.clone()); };
  split.generate(p, cb);
  if (!group->is_output_rank()) {
    EXPECT_TRUE(frames.empty());
    return;
  }
  ASSERT_EQ(frames.size(), reference.size());
  ASSERT_FALSE(frames.empty());
  for (size_t i = 0; i < frames.size(); ++i) {
    const double err = rel_l2(frames[i], reference[i]);
    std::printf("CFG-parallel video chunk %zu vs one GPU: %.3e\n", i, err);
    EXPECT_LE(err, 1e-3) << i;
  }
}

// Four GPUs. The goldens' and the demo's DiTs have one or two heads, too few to split four ways, so
// these use a small random DiT of four heads of 128 (the head size of the real models and of our
// Hopper attention kernel) over 105 tokens, which four does not divide (each rank's slice padded).
WanDiTConfig four_head_config(int64_t layers) {
  WanDiTConfig config = test::small_a14b_dit_config(layers);
  config.dim = 512;
  config.num_heads = 4;
  config.ffn_dim = 1024;
  return config;
}

const Shape kFourHeadLatent{16, 3, 10, 14};  // [C, F, H, W]: 3·5·7 = 105 tokens
constexpr int64_t kFourHeadTokens = 105;

// Ulysses over four GPUs (one head each), bf16 and FP8, within the two-GPU test's bounds.
TEST(MultiGpu, UlyssesOverFourGpusMatchesOneGpu) {
  WAN_RUN_AS_RANKS(4);
  const auto group = join(1, 4);
  const WanDiTConfig config = four_head_config(2);
  const Tensor x = test::random_tensor(kFourHeadLatent, 31);
  const Tensor ctx = test::random_tensor({24, config.text_dim}, 32);
  const Tensor t = Tensor::from_vector<float>({777.0f}, {1});
  std::vector<Precision> precisions{Precision::BF16};
  if (fp8_products_supported(cuda_compute_capability())) precisions.push_back(Precision::FP8);
  for (const Precision precision : precisions) {
    WanDiTCuda model = WanDiTCuda::random(config, 33, precision);
    const Tensor alone = model.forward({x}, t, {ctx}, kFourHeadTokens)[0];
    model.set_sequence_parallel(group->ulysses);
    const Tensor split = model.forward({x}, t, {ctx}, kFourHeadTokens)[0];
    ASSERT_EQ(split.shape(), alone.shape());
    const double vs_one = rel_l2(split, alone), vs_input = rel_l2(alone, x);
    std::printf("rank %d %s: Ulysses over 4 GPUs vs one GPU %.3e (one GPU's output vs its input %.3e)\n",
                group->info.rank, precision_name(precision), vs_one, vs_input);
    EXPECT_LE(vs_one, precision == Precision::FP8 ? 2.5e-2 : 5e-3) << precision_name(precision);
    EXPECT_GT(vs_input, 1e-1) << "the forward returned its input";
  }
}

// `--cfg-parallel --ulysses 2`: two ranks per guidance branch, each pair splitting its branch's
// tokens, over a whole denoising loop with both experts (A14B's boundary, shift and guide scales).
// Bound as the two-GPU CFG-parallel test's: each process tunes its own kernels, and the loop carries
// their bf16 roundings from step to step.
TEST(MultiGpu, CfgParallelWithUlyssesDenoisingMatchesOneGpu) {
  WAN_RUN_AS_RANKS(4);
  const auto group = join(2, 2);
  const WanDiTConfig config = four_head_config(2);
  WanDiTCuda high = WanDiTCuda::random(config, 41), low = WanDiTCuda::random(config, 42);
  DenoiseInputs in;
  in.noise = test::random_tensor(kFourHeadLatent, 43);
  in.context = test::random_tensor({24, config.text_dim}, 44);
  in.context_null = test::random_tensor({20, config.text_dim}, 45);
  in.high_noise = &high;
  in.low_noise = &low;
  in.boundary = 0.875;
  in.guide_low = 3.0;
  in.guide_high = 4.0;
  in.steps = 6;
  in.shift = 12.0;
  const Tensor alone = denoise(in);
  high.set_sequence_parallel(group->ulysses);
  low.set_sequence_parallel(group->ulysses);
  in.cfg_group = group->cfg.get();
  in.cfg_branch = group->cfg_branch();
  int high_steps = 0, low_steps = 0;
  const Tensor split = denoise(in, [&](int64_t, int64_t, int64_t, bool high_noise) {
    ++(high_noise ? high_steps : low_steps);
    return true;
  });
  const double err = rel_l2(split, alone);
  std::printf("rank %d (branch %d): CFG-parallel with Ulysses 2 latent vs one GPU %.3e (%d high-noise, %d low-noise steps)\n",
              group->info.rank, group->cfg_branch(), err, high_steps, low_steps);
  EXPECT_GT(high_steps, 0);
  EXPECT_GT(low_steps, 0);
  EXPECT_LE(err, 3e-2);
  EXPECT_GT(rel_l2(alone, in.noise), 1e-1);  // the loop did move the latent
}

}  // namespace
}  // namespace wan

// The denoising loop frees what each model keeps per text (DiTModel::release_text_cache: the CUDA
// DiT's cross-attention keys and values) as soon as it is done with the model: the high-noise
// expert's at the boundary step, both at the end, and both when the run is cancelled.
#include <gtest/gtest.h>

#include <string>

#include "pipeline/denoise.h"

namespace wan {
namespace {

// Predicts zeros and logs "H"/"L" for its forwards and "h"/"l" for its releases.
class LoggingModel : public DiTModel {
 public:
  LoggingModel(char name, std::string* log) : name_(name), log_(log) {}
  const WanDiTConfig& config() const override { return config_; }
  std::vector<Tensor> predict(const std::vector<Tensor>& x, const Tensor&, const std::vector<Tensor>&,
                              int64_t) const override {
    *log_ += name_;
    return {Tensor::zeros(x[0].shape(), DType::F32)};
  }
  void release_text_cache() const override { *log_ += char(name_ - 'A' + 'a'); }

 private:
  char name_;
  std::string* log_;
  WanDiTConfig config_;
};

DenoiseInputs inputs(const DiTModel& high, const DiTModel& low) {
  DenoiseInputs in;
  in.noise = Tensor::zeros({16, 1, 4, 4}, DType::F32);
  in.context = in.context_null = Tensor::zeros({3, 4096}, DType::F32);
  in.high_noise = &high;
  in.low_noise = &low;
  in.boundary = 0.875;  // T2V-A14B's
  in.steps = 6;
  in.shift = 12.0;
  return in;
}

TEST(Denoise, ReleasesEachExpertsTextCacheWhenDoneWithIt) {
  std::string log;
  const LoggingModel high('H', &log), low('L', &log);
  denoise(inputs(high, low));
  // Two forwards a step (cond, uncond); the high-noise expert's cache goes at the first low-noise step.
  const size_t switch_at = log.find('h');
  ASSERT_NE(switch_at, std::string::npos) << log;
  EXPECT_EQ(log.substr(0, switch_at), std::string(switch_at, 'H')) << log;
  EXPECT_GT(switch_at, 0u) << log;
  EXPECT_EQ(log.substr(switch_at), "h" + std::string(12 - switch_at, 'L') + "hl") << log;
}

TEST(Denoise, ReleasesTheTextCachesWhenCancelled) {
  std::string log;
  const LoggingModel high('H', &log), low('L', &log);
  EXPECT_THROW(denoise(inputs(high, low), [](int64_t step, int64_t, int64_t, bool) { return step < 0; }), Cancelled);
  EXPECT_EQ(log, "HHhl");
}

TEST(Denoise, OneModelTasksReleaseTheirModelAtTheEnd) {
  std::string log;
  const LoggingModel only('L', &log);
  DenoiseInputs in = inputs(only, only);
  in.high_noise = nullptr;
  in.steps = 2;
  denoise(in);
  EXPECT_EQ(log, "LLLLl");
}

}  // namespace
}  // namespace wan

// The denoising loop frees what each model keeps per text (DiTModel::release_text_cache: the CUDA
// DiT's cross-attention keys and values) as soon as it is done with the model: the high-noise
// expert's at the boundary step, both at the end, and both when the run is cancelled. And it asks
// for each step's two predictions in one DiTModel::predict_guided call, (cond, uncond) in that order.
#include <gtest/gtest.h>

#include <string>
#include <utility>

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

// Predicts the text's first value everywhere: 1 with the prompt below, 0 with the negative
// prompt; with `guided`, both through its own predict_guided, which logs "G".
class TextModel : public DiTModel {
 public:
  TextModel(bool guided, std::string* log) : guided_(guided), log_(log) {}
  const WanDiTConfig& config() const override { return config_; }
  std::vector<Tensor> predict(const std::vector<Tensor>& x, const Tensor&, const std::vector<Tensor>& context,
                              int64_t) const override {
    *log_ += 'P';
    return {constant(x[0], context[0].data<float>()[0])};
  }
  std::pair<Tensor, Tensor> predict_guided(const Tensor& x, const Tensor& t, const Tensor& context,
                                           const Tensor& context_null, int64_t seq_len) const override {
    if (!guided_) return DiTModel::predict_guided(x, t, context, context_null, seq_len);
    *log_ += 'G';
    return {constant(x, context.data<float>()[0]), constant(x, context_null.data<float>()[0])};
  }

 private:
  static Tensor constant(const Tensor& like, float c) {
    Tensor y = Tensor::zeros(like.shape(), DType::F32);
    for (int64_t i = 0; i < y.numel(); ++i) y.data<float>()[i] = c;
    return y;
  }
  bool guided_;
  std::string* log_;
  WanDiTConfig config_;
};

TEST(Denoise, AsksForBothPredictionsOfAStepInOneGuidedCall) {
  std::string plain_log, guided_log;
  const TextModel plain(false, &plain_log), guided(true, &guided_log);
  DenoiseInputs in = inputs(plain, plain);
  in.high_noise = nullptr;
  in.steps = 3;
  in.guide_low = 4.0;  // the guidance moves the result: cond and uncond swapped would show
  in.context = Tensor::from_vector<float>({1.0f, 0.0f}, {1, 2});
  in.context_null = Tensor::from_vector<float>({0.0f, 0.0f}, {1, 2});
  const Tensor a = denoise(in);
  in.low_noise = &guided;
  const Tensor b = denoise(in);
  EXPECT_EQ(plain_log, "PPPPPP");   // the default: two predict() calls a step
  EXPECT_EQ(guided_log, "GGG");     // one guided call a step, no other forward
  ASSERT_EQ(a.shape(), b.shape());
  for (int64_t i = 0; i < a.numel(); ++i) ASSERT_EQ(a.data<float>()[i], b.data<float>()[i]) << i;
  // The guided velocity is uncond + 4·(cond − uncond) = 4 (with the two swapped: −3): the flow's
  // steps x += (σ_next − σ)·v from zeros, σ falling, leave every value negative.
  for (int64_t i = 0; i < a.numel(); ++i) ASSERT_LT(a.data<float>()[i], -1.0f) << i;
}

}  // namespace
}  // namespace wan

// ExpertResidency with models that record their offloads and reloads: one model resident at a
// time, never two together, a swap only when the other model predicts, and the predictions the
// models' own.
#include <gtest/gtest.h>

#include <string>

#include "pipeline/expert_residency.h"

namespace wan {
namespace {

// A model whose prediction is its id, and which records what happens to it in a shared log.
class RecordingModel : public DiTModel {
 public:
  RecordingModel(int id, std::string* log, int* on_gpu) : id_(id), log_(log), on_gpu_(on_gpu) { ++*on_gpu_; }
  const WanDiTConfig& config() const override { return config_; }
  std::vector<Tensor> predict(const std::vector<Tensor>&, const Tensor&, const std::vector<Tensor>&,
                              int64_t) const override {
    EXPECT_TRUE(resident_) << "model " << id_ << " predicted while offloaded";
    *log_ += "p" + std::to_string(id_);
    return {Tensor::from_vector<float>({float(id_)}, {1})};
  }
  void offload() override {
    if (!resident_) return;
    resident_ = false;
    --*on_gpu_;
    *log_ += "o" + std::to_string(id_);
  }
  void reload() override {
    if (resident_) return;
    EXPECT_EQ(*on_gpu_, 0) << "model " << id_ << " reloaded while another is on the GPU";
    resident_ = true;
    ++*on_gpu_;
    *log_ += "r" + std::to_string(id_);
  }
  bool resident() const override { return resident_; }

 private:
  int id_;
  std::string* log_;
  int* on_gpu_;
  bool resident_ = true;
  WanDiTConfig config_;
};

TEST(ExpertResidency, OneModelOnTheGpuAndASwapOnlyWhenTheOtherPredicts) {
  std::string log;
  int on_gpu = 0;
  std::vector<std::unique_ptr<DiTModel>> models;
  models.push_back(std::make_unique<RecordingModel>(0, &log, &on_gpu));  // loaded resident, as a GPU model is
  models.push_back(std::make_unique<RecordingModel>(1, &log, &on_gpu));
  ExpertResidency residency(std::move(models));
  EXPECT_EQ(on_gpu, 1);
  EXPECT_EQ(log, "o1");  // the second is offloaded at once
  const auto high = residency.view(0), low = residency.view(1);
  const Tensor t = Tensor::from_vector<float>({1.0f}, {1});
  // A video: two high-noise steps, the boundary, three low-noise steps; then the next video.
  for (int video = 0; video < 2; ++video) {
    for (int s = 0; s < 2; ++s) EXPECT_EQ(high->predict({}, t, {}, 1)[0].to_vector<float>()[0], 0.0f);
    for (int s = 0; s < 3; ++s) EXPECT_EQ(low->predict({}, t, {}, 1)[0].to_vector<float>()[0], 1.0f);
  }
  EXPECT_EQ(log, "o1p0p0o0r1p1p1p1o1r0p0p0o0r1p1p1p1");
  EXPECT_EQ(on_gpu, 1);
  EXPECT_EQ(residency.swaps(), 3u);
  EXPECT_EQ(residency.resident_index(), 1u);
  // The views leave residency to their owner.
  high->offload();
  low->reload();
  EXPECT_TRUE(low->resident());
  EXPECT_FALSE(high->resident());
  EXPECT_THROW(residency.view(2), Error);
}

}  // namespace
}  // namespace wan

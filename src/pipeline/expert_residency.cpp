#include "pipeline/expert_residency.h"

#include "core/error.h"
#include "core/log.h"

namespace wan {
namespace {

class ResidentView : public DiTModel {
 public:
  ResidentView(ExpertResidency* owner, DiTModel* model, size_t index) : owner_(owner), model_(model), index_(index) {}
  const WanDiTConfig& config() const override { return model_->config(); }
  std::vector<Tensor> predict(const std::vector<Tensor>& x, const Tensor& t, const std::vector<Tensor>& context,
                              int64_t seq_len) const override {
    owner_->make_resident(index_);
    return model_->predict(x, t, context, seq_len);
  }
  std::pair<Tensor, Tensor> predict_guided(const Tensor& x, const Tensor& t, const Tensor& context,
                                           const Tensor& context_null, int64_t seq_len) const override {
    owner_->make_resident(index_);
    return model_->predict_guided(x, t, context, context_null, seq_len);
  }
  // The owner decides residency; the view's own calls would undo it.
  void offload() override {}
  void reload() override {}
  bool resident() const override { return model_->resident(); }
  void release_text_cache() const override { model_->release_text_cache(); }

 private:
  ExpertResidency* owner_;
  DiTModel* model_;
  size_t index_;
};

}  // namespace

ExpertResidency::ExpertResidency(std::vector<std::unique_ptr<DiTModel>> models) : models_(std::move(models)) {
  WAN_CHECK(!models_.empty(), "ExpertResidency: no models");
  for (size_t i = 1; i < models_.size(); ++i) models_[i]->offload();
  models_[0]->reload();
}

std::unique_ptr<DiTModel> ExpertResidency::view(size_t index) {
  WAN_CHECK(index < models_.size(), "ExpertResidency: model ", index, " of ", models_.size());
  return std::make_unique<ResidentView>(this, models_[index].get(), index);
}

void ExpertResidency::make_resident(size_t index) {
  WAN_CHECK(index < models_.size(), "ExpertResidency: model ", index, " of ", models_.size());
  if (index == resident_ && models_[index]->resident()) return;
  for (size_t i = 0; i < models_.size(); ++i)
    if (i != index) models_[i]->offload();  // first, so that the GPU never holds two
  models_[index]->reload();
  resident_ = index;
  ++swaps_;
  WAN_LOG_DEBUG("offloading: expert ", index, " moved onto the GPU");
}

std::unique_ptr<ExpertResidency> share_one_gpu(std::unique_ptr<DiTModel>& first, std::unique_ptr<DiTModel>& second) {
  std::vector<std::unique_ptr<DiTModel>> models;
  models.push_back(std::move(first));
  models.push_back(std::move(second));
  auto residency = std::make_unique<ExpertResidency>(std::move(models));
  first = residency->view(0);
  second = residency->view(1);
  return residency;
}

}  // namespace wan

// One expert on the GPU at a time: T2V-A14B with offloading (the official --offload_model) keeps
// only the expert that is denoising on the GPU and the other in page-locked host memory
// (DiTModel::offload / reload). A video swaps once, at the boundary step (high-noise expert
// first), and the next video swaps back: an upload of 28.6 GB (a bf16 A14B expert), about a second
// from page-locked memory, against minutes of denoising. The GPU then needs one expert's weights
// instead of two (26.6 GiB less; pipeline/memory_plan.h).
#pragma once

#include <memory>
#include <vector>

#include "models/dit_model.h"

namespace wan {

class ExpertResidency {
 public:
  // Takes the models (all resident or not); the first stays on the GPU, the others are offloaded now.
  explicit ExpertResidency(std::vector<std::unique_ptr<DiTModel>> models);
  ExpertResidency(const ExpertResidency&) = delete;
  ExpertResidency& operator=(const ExpertResidency&) = delete;

  // A DiTModel that predicts with model `index`, making it the resident one first (the others are
  // offloaded before it is reloaded, so two experts are never on the GPU together). The views
  // refer to this object, which must outlive them.
  std::unique_ptr<DiTModel> view(size_t index);
  void make_resident(size_t index);
  size_t resident_index() const { return resident_; }
  size_t swaps() const { return swaps_; }  // reloads so far

 private:
  std::vector<std::unique_ptr<DiTModel>> models_;
  size_t resident_ = 0;
  size_t swaps_ = 0;
};

// Puts `first` and `second` under one ExpertResidency (first resident) and replaces them with its
// views; the returned residency must outlive them.
std::unique_ptr<ExpertResidency> share_one_gpu(std::unique_ptr<DiTModel>& first, std::unique_ptr<DiTModel>& second);

}  // namespace wan

// Runs a pipeline_*.io.safetensors golden case (the whole T2V-A14B loop: two experts, the given
// noise and contexts, every solver in the file, the VAE) with the DiTs on the CPU or the GPU.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"

namespace wan::test {

struct PipelineResult {
  std::string name;  // "video.<solver>"
  Tensor video;      // [3, F, H, W], ours
  Tensor reference;  // the official output
  int64_t high_noise_steps = 0, steps = 0;
};

// offload (CUDA only): the two experts under an ExpertResidency, one on the GPU at a time;
// `swaps` receives its reloads.
std::vector<PipelineResult> run_pipeline_golden(const std::string& case_path, bool cuda, bool offload = false,
                                                size_t* swaps = nullptr);

}  // namespace wan::test

// The choice, made once per attention problem, between cuDNN's execution plans and our Hopper
// kernel (flash_attention_sm90.h), shared by the bf16 and FP8 attention ops: taken from the
// tuning cache (core/tuning_cache.h) where it holds the problem — "ours", or "cudnn <index>" (the
// plan's place in the heuristics' list, fixed by cuDNN's version, which is part of the cache's
// fingerprint) — else timed on the call's own operands and stored. Where the cache says ours,
// cuDNN's plans are not even built (seconds at the DiT's shapes).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/tuning_cache.h"
#include "ops/cuda/cudnn_graph.h"

namespace wan::ops::cuda {

struct AttentionChoiceInputs {
  TuningCache* cache = nullptr;  // wan::cuda::tuning_cache(); none: always timed, nothing stored
  std::string problem;  // the tuning cache's key: the op, shape, strides and our kernel's tile (0: ours cannot run)
  std::string what;     // for the log: e.g. "FP8 attention Lq=.. Lk=.. H=.."
  bool ours_fits = false;
  // Fills `candidates` (cuDNN's plans, best first by the heuristics); may leave it empty (no engine).
  std::function<void()> build_candidates;
  std::function<void(const Candidate&)> run_cudnn;
  std::function<void()> run_ours;
};

// Returns whether our kernel runs the problem; otherwise cuDNN's chosen plan is `candidates`' first.
bool choose_attention(const AttentionChoiceInputs& in, std::vector<Candidate>& candidates);

}  // namespace wan::ops::cuda

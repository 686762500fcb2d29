// What the cuBLASLt products of ops/cuda/linear.cpp (bf16) and linear_fp8.cpp (E4M3) share: a plan
// (descriptors + the candidate algorithms), the heuristic query with the workspace and operand
// alignments as preferences, one product y = op(W)·x on the backend's stream, and the choice of
// the fastest candidate, timed once on a call's own operands (the heuristics' first choice was up
// to 3x slower than PyTorch's on some Wan shapes).
#pragma once

#include <cublasLt.h>

#include <cstdint>
#include <string>
#include <vector>

namespace wan::ops::cuda {

// The largest power of two up to 256 dividing the address: cuBLASLt's MIN_ALIGNMENT preferences.
int alignment_of(const void* p);

struct LtPlan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;  // W, x, y (and D = C)
  std::vector<cublasLtMatmulAlgo_t> candidates;
  cublasLtMatmulAlgo_t algo{};
  bool tuned = false;
};

// Up to 8 algorithms for the plan's descriptors (C and D aligned alike), into p.candidates and
// p.algo (the first); the cuBLAS status of the query (SUCCESS with none found is possible).
cublasStatus_t lt_find_algorithms(LtPlan& p, int align_w, int align_x, int align_y, int align_bias);
// Destroys the descriptors (for a plan that found no algorithm).
void lt_destroy(LtPlan& p);
// y = op(W)·x with alpha 1, beta 0.
void lt_matmul(const LtPlan& p, const cublasLtMatmulAlgo_t& algo, const void* w, const void* x, void* y);
// On the first call: each candidate once as a warm-up, then the best of 3, the fastest into p.algo;
// `problem` names the product for the tuning cache (core/tuning_cache.h): a choice stored there by
// an earlier process, still among the candidates, is taken without timing.
// (One timed run, a second only for contenders, was tried in the tenth session: its whole 480p run
// stepped at 5.46 s and this one at 5.30-5.44 s on other machines of the same kind, its first step
// no shorter: no gain that machine-to-machine spread would not hide, so this stays.)
void lt_tune_once(LtPlan& p, const std::string& problem, const void* w, const void* x, void* y);

}  // namespace wan::ops::cuda

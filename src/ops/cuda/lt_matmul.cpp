#include "ops/cuda/lt_matmul.h"

#include <chrono>
#include <string>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_context.h"
#include "backend/cuda/stream_timer.h"
#include "core/log.h"

namespace wan::ops::cuda {

int alignment_of(const void* p) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  int align = 256;
  while (align > 1 && a % uintptr_t(align) != 0) align /= 2;
  return align;
}

cublasStatus_t lt_find_algorithms(LtPlan& p, int align_w, int align_x, int align_y, int align_bias) {
  constexpr int kCandidates = 8;
  auto& ctx = wan::cuda::context();
  cublasLtMatmulPreference_t pref = nullptr;
  WAN_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  const uint64_t ws = ctx.lt_workspace_bytes;
  WAN_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
  const uint32_t al[4] = {uint32_t(align_w), uint32_t(align_x), uint32_t(align_y), uint32_t(align_bias)};
  WAN_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al[0], 4));
  WAN_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al[1], 4));
  WAN_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al[2], 4));
  WAN_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al[2], 4));
  std::vector<cublasLtMatmulHeuristicResult_t> results(kCandidates);
  int found = 0;
  const cublasStatus_t st =
      cublasLtMatmulAlgoGetHeuristic(ctx.lt, p.desc, p.a, p.b, p.c, p.c, pref, kCandidates, results.data(), &found);
  cublasLtMatmulPreferenceDestroy(pref);
  p.candidates.clear();
  for (int i = 0; st == CUBLAS_STATUS_SUCCESS && i < found; ++i)
    if (results[size_t(i)].state == CUBLAS_STATUS_SUCCESS) p.candidates.push_back(results[size_t(i)].algo);
  if (!p.candidates.empty()) p.algo = p.candidates.front();
  return st;
}

void lt_destroy(LtPlan& p) {
  if (p.desc) cublasLtMatmulDescDestroy(p.desc);
  for (cublasLtMatrixLayout_t l : {p.a, p.b, p.c})
    if (l) cublasLtMatrixLayoutDestroy(l);
  p = LtPlan();
}

void lt_matmul(const LtPlan& p, const cublasLtMatmulAlgo_t& algo, const void* w, const void* x, void* y) {
  auto& ctx = wan::cuda::context();
  const float alpha = 1.0f, beta = 0.0f;
  WAN_CUBLAS_CHECK(cublasLtMatmul(ctx.lt, p.desc, &alpha, w, p.a, x, p.b, &beta, y, p.c, y, p.c, &algo,
                                  ctx.lt_workspace, ctx.lt_workspace_bytes, ctx.stream));
}

namespace {

std::string to_hex(const cublasLtMatmulAlgo_t& algo) {
  static const char digits[] = "0123456789abcdef";
  const auto* bytes = reinterpret_cast<const unsigned char*>(&algo);
  std::string hex;
  for (size_t i = 0; i < sizeof algo; ++i) hex += {digits[bytes[i] >> 4], digits[bytes[i] & 15]};
  return hex;
}

}  // namespace

void lt_tune_once(LtPlan& p, const std::string& problem, const void* w, const void* x, void* y) {
  if (p.tuned) return;
  p.tuned = true;
  if (p.candidates.size() < 2) return;
  // cuBLASLt's algorithm descriptors are plain data, valid again with the same library (its
  // documentation says they may be serialised); the stored one is taken only if the heuristics
  // still offer it.
  TuningCache* cache = wan::cuda::tuning_cache();
  if (const auto stored = cache ? cache->lookup(problem) : std::nullopt) {
    for (const auto& algo : p.candidates)
      if (to_hex(algo) == *stored) {
        p.algo = algo;
        return;
      }
  }
  const auto start = std::chrono::steady_clock::now();
  float best = 1e30f;
  std::string timings;
  for (const auto& algo : p.candidates) {
    lt_matmul(p, algo, w, x, y);  // warm-up
    const float fastest = wan::cuda::fastest_ms(3, [&] { lt_matmul(p, algo, w, x, y); });
    timings += str(" ", fastest);
    if (fastest < best) {
      best = fastest;
      p.algo = algo;
    }
  }
  WAN_LOG_DEBUG("cuBLASLt candidates (ms):", timings, "; tuning took ",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), " s");
  if (cache) cache->store(problem, to_hex(p.algo));
}

}  // namespace wan::ops::cuda

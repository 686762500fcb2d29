// ops/linear.h on the GPU: one cuBLASLt matmul per call. PyTorch's row-major y = x·Wᵀ is the
// column-major product yᵀ[N, M] = W[N, K]·xᵀ (A = W read transposed, B = x as stored), so the
// bias runs along the rows of the column-major result, as cuBLASLt's BIAS epilogue expects.
// Plans (descriptors + an algorithm) are cached per shape, epilogue and alignment; the algorithm is
// the fastest of cuBLASLt's top heuristic candidates, timed once on the first call's own operands
// (the first candidate alone was up to 3x slower than PyTorch's choice on some Wan shapes).
#include <map>
#include <mutex>
#include <tuple>
#include <vector>
#include <algorithm>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_context.h"
#include "backend/cuda/stream_timer.h"
#include "ops/cuda/cuda_ops.h"

namespace wan::ops::cuda {
namespace {

int alignment_of(const void* p) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  int align = 256;
  while (align > 1 && a % uintptr_t(align) != 0) align /= 2;
  return align;
}

constexpr int kCandidates = 8;

struct Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
  std::vector<cublasLtMatmulAlgo_t> candidates;
  bool tuned = false;
};

using Key = std::tuple<int64_t, int64_t, int64_t, int, bool, int, int, int, int>;

Plan make_plan(int64_t M, int64_t N, int64_t K, Activation act, bool has_bias, int align_w, int align_x, int align_y,
               int align_b) {
  auto& ctx = wan::cuda::context();
  Plan p;
  WAN_CUBLAS_CHECK(cublasLtMatmulDescCreate(&p.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
  WAN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
  WAN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
  cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_DEFAULT;
  if (act == Activation::GeluTanh) epi = has_bias ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_GELU;
  else if (has_bias) epi = CUBLASLT_EPILOGUE_BIAS;
  WAN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
  WAN_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.a, CUDA_R_16BF, uint64_t(K), uint64_t(N), K));  // W: [K, N] col-major
  WAN_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.b, CUDA_R_16BF, uint64_t(K), uint64_t(M), K));  // x: [K, M]
  WAN_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.c, CUDA_R_16BF, uint64_t(N), uint64_t(M), N));  // y: [N, M]

  cublasLtMatmulPreference_t pref = nullptr;
  WAN_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  const uint64_t ws = ctx.lt_workspace_bytes;
  WAN_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
  const uint32_t al[4] = {uint32_t(align_w), uint32_t(align_x), uint32_t(align_y), uint32_t(align_b)};
  WAN_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al[0], 4));
  WAN_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al[1], 4));
  WAN_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al[2], 4));
  WAN_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al[2], 4));
  std::vector<cublasLtMatmulHeuristicResult_t> results(kCandidates);
  int found = 0;
  const cublasStatus_t st =
      cublasLtMatmulAlgoGetHeuristic(ctx.lt, p.desc, p.a, p.b, p.c, p.c, pref, kCandidates, results.data(), &found);
  cublasLtMatmulPreferenceDestroy(pref);
  WAN_CHECK(st == CUBLAS_STATUS_SUCCESS && found > 0, "cuBLASLt has no bf16 algorithm for linear M=", M, " N=", N,
            " K=", K, " (", cublasLtGetStatusString(st), ")");
  p.candidates.clear();
  for (int i = 0; i < found; ++i)
    if (results[size_t(i)].state == CUBLAS_STATUS_SUCCESS) p.candidates.push_back(results[size_t(i)].algo);
  p.algo = p.candidates.front();
  return p;
}

void run(const Plan& p, const cublasLtMatmulAlgo_t& algo, const Tensor& x2d, const Tensor& weight, Tensor& y2d) {
  auto& ctx = wan::cuda::context();
  const float alpha = 1.0f, beta = 0.0f;
  WAN_CUBLAS_CHECK(cublasLtMatmul(ctx.lt, p.desc, &alpha, weight.data_ptr(), p.a, x2d.data_ptr(), p.b, &beta,
                                  y2d.data_ptr(), p.c, y2d.data_ptr(), p.c, &algo, ctx.lt_workspace,
                                  ctx.lt_workspace_bytes, ctx.stream));
}

// Times each candidate (one warm-up, then the best of 3) and keeps the fastest in p.algo.
void autotune(Plan& p, const Tensor& x2d, const Tensor& weight, Tensor& y2d) {
  if (p.candidates.size() < 2) return;
  float best = 1e30f;
  for (const auto& algo : p.candidates) {
    run(p, algo, x2d, weight, y2d);
    const float fastest = wan::cuda::fastest_ms(3, [&] { run(p, algo, x2d, weight, y2d); });
    if (fastest < best) {
      best = fastest;
      p.algo = algo;
    }
  }
}

}  // namespace

void linear(const Tensor& x2d, const Tensor& weight, const Tensor& bias, Activation act, Tensor& y2d) {
  WAN_CHECK(act != Activation::SiLU, "linear on CUDA: the SiLU epilogue is not implemented");
  const int64_t M = x2d.size(0), K = x2d.size(1), N = weight.size(0);
  const bool has_bias = bias.defined();
  const Key key{M, N, K, int(act), has_bias, alignment_of(weight.data_ptr()), alignment_of(x2d.data_ptr()),
                alignment_of(y2d.data_ptr()), has_bias ? alignment_of(bias.data_ptr()) : 256};
  static std::mutex mutex;
  static std::map<Key, Plan> plans;
  Plan* plan;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = plans.find(key);
    if (it == plans.end())
      it = plans.emplace(key, make_plan(M, N, K, act, has_bias, std::get<5>(key), std::get<6>(key), std::get<7>(key),
                                        std::get<8>(key))).first;
    plan = &it->second;
    if (has_bias) {
      const void* bp = bias.data_ptr();
      WAN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bp, sizeof bp));
    }
    if (!plan->tuned) {
      autotune(*plan, x2d, weight, y2d);
      plan->tuned = true;
    }
    run(*plan, plan->algo, x2d, weight, y2d);
  }
}

}  // namespace wan::ops::cuda

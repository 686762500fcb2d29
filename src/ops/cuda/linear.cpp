// ops/linear.h on the GPU: one cuBLASLt matmul per call. PyTorch's row-major y = x·Wᵀ is the
// column-major product yᵀ[N, M] = W[N, K]·xᵀ (A = W read transposed, B = x as stored), so the
// bias runs along the rows of the column-major result, as cuBLASLt's BIAS epilogue expects.
// Plans (descriptors + an algorithm) are cached per shape, epilogue and alignment; the algorithm is
// the fastest of cuBLASLt's top heuristic candidates, timed once on the first call's own operands
// (ops/cuda/lt_matmul.h).
#include <map>
#include <mutex>
#include <tuple>

#include "backend/cuda/cuda_check.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/lt_matmul.h"

namespace wan::ops::cuda {
namespace {

using Key = std::tuple<int64_t, int64_t, int64_t, int, bool, int, int, int, int>;

LtPlan make_plan(int64_t M, int64_t N, int64_t K, Activation act, bool has_bias, int align_w, int align_x, int align_y,
                 int align_b) {
  LtPlan p;
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
  const cublasStatus_t st = lt_find_algorithms(p, align_w, align_x, align_y, align_b);
  WAN_CHECK(!p.candidates.empty(), "cuBLASLt has no bf16 algorithm for linear M=", M, " N=", N, " K=", K, " (",
            cublasLtGetStatusString(st), ")");
  return p;
}

}  // namespace

void linear(const Tensor& x2d, const Tensor& weight, const Tensor& bias, Activation act, Tensor& y2d) {
  WAN_CHECK(act != Activation::SiLU, "linear on CUDA: the SiLU epilogue is not implemented");
  const int64_t M = x2d.size(0), K = x2d.size(1), N = weight.size(0);
  const bool has_bias = bias.defined();
  const Key key{M, N, K, int(act), has_bias, alignment_of(weight.data_ptr()), alignment_of(x2d.data_ptr()),
                alignment_of(y2d.data_ptr()), has_bias ? alignment_of(bias.data_ptr()) : 256};
  static std::mutex mutex;
  static std::map<Key, LtPlan> plans;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = plans.find(key);
  if (it == plans.end())
    it = plans.emplace(key, make_plan(M, N, K, act, has_bias, std::get<5>(key), std::get<6>(key), std::get<7>(key),
                                      std::get<8>(key))).first;
  LtPlan& plan = it->second;
  if (has_bias) {
    const void* bp = bias.data_ptr();
    WAN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bp, sizeof bp));
  }
  lt_tune_once(plan,
               str("linear bf16 M=", M, " N=", N, " K=", K, " act=", int(act), " bias=", has_bias, " align=",
                   std::get<5>(key), ",", std::get<6>(key), ",", std::get<7>(key), ",", std::get<8>(key)),
               weight.data_ptr(), x2d.data_ptr(), y2d.data_ptr());
  lt_matmul(plan, plan.algo, weight.data_ptr(), x2d.data_ptr(), y2d.data_ptr());
}

}  // namespace wan::ops::cuda

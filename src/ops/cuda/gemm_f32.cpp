// Row-major f32 matrix products on cuBLASLt with TF32 tensor cores and f32 accumulation (the VAE's
// 1x1 projections and attention, which the official code runs in f32; PyTorch's default for
// convolutions on Ampere and later is TF32 too). Row-major C = A·op(B) is the column-major
// Cᵀ = op(B)ᵀ·Aᵀ, so B is cuBLASLt's first operand.
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_context.h"
#include "ops/cuda/cuda_ops.h"

namespace wan::ops::cuda {

void gemm_f32(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
              bool b_is_nk, float* C, int64_t ldc, float alpha, float beta, const float* bias) {
  if (M == 0 || N == 0) return;
  auto& ctx = wan::cuda::context();
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr;
  WAN_CUBLAS_CHECK(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F_FAST_TF32, CUDA_R_32F));
  // First operand: B. Stored row-major [N, K] it is column-major [K, N] → transposed; stored
  // row-major [K, N] it is column-major [N, K] → as is.
  const cublasOperation_t ta = b_is_nk ? CUBLAS_OP_T : CUBLAS_OP_N, tb = CUBLAS_OP_N;
  WAN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
  WAN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
  if (bias) {  // along the column-major rows: the N features
    const cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_BIAS;
    WAN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
    WAN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias));
  }
  if (b_is_nk) WAN_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&la, CUDA_R_32F, uint64_t(K), uint64_t(N), ldb));
  else WAN_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&la, CUDA_R_32F, uint64_t(N), uint64_t(K), ldb));
  WAN_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&lb, CUDA_R_32F, uint64_t(K), uint64_t(M), lda));
  WAN_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&lc, CUDA_R_32F, uint64_t(N), uint64_t(M), ldc));
  cublasLtMatmulPreference_t pref = nullptr;
  WAN_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  const uint64_t ws = ctx.lt_workspace_bytes;
  WAN_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(ctx.lt, desc, la, lb, lc, lc, pref, 1, &result, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  if (st == CUBLAS_STATUS_SUCCESS && found > 0)
    WAN_CUBLAS_CHECK(cublasLtMatmul(ctx.lt, desc, &alpha, B, la, A, lb, &beta, C, lc, C, lc, &result.algo,
                                    ctx.lt_workspace, ctx.lt_workspace_bytes, ctx.stream));
  cublasLtMatrixLayoutDestroy(la);
  cublasLtMatrixLayoutDestroy(lb);
  cublasLtMatrixLayoutDestroy(lc);
  cublasLtMatmulDescDestroy(desc);
  WAN_CHECK(st == CUBLAS_STATUS_SUCCESS && found > 0, "cuBLASLt has no f32 algorithm for M=", M, " N=", N, " K=", K,
            " (", cublasLtGetStatusString(st), ")");
}

void attention_f32(const Tensor& q, const Tensor& k, const Tensor& v, double scale, const Tensor& bias, Tensor& out) {
  const int64_t B = q.size(0), Lq = q.size(1), H = q.size(2), D = q.size(3), Lk = k.size(1), Dv = v.size(3);
  Tensor s = wan::cuda::empty({Lq, Lk}, DType::F32);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const float* qp = q.data<float>() + b * q.stride(0) + h * q.stride(2);
      const float* kp = k.data<float>() + b * k.stride(0) + h * k.stride(2);
      const float* vp = v.data<float>() + b * v.stride(0) + h * v.stride(2);
      float* op = out.data<float>() + b * out.stride(0) + h * out.stride(2);
      float beta = 0.0f;
      if (bias.defined()) {  // S starts as the bias of this head: [Lq, Lk]
        WAN_CUDA_CHECK(cudaMemcpyAsync(s.data_ptr(), bias.data<float>() + h * Lq * Lk, size_t(Lq * Lk) * 4,
                                       cudaMemcpyDeviceToDevice, wan::cuda::context().stream));
        beta = 1.0f;
      }
      gemm_f32(Lq, Lk, D, qp, q.stride(1), kp, k.stride(1), /*b_is_nk=*/true, s.data<float>(), Lk, float(scale), beta);
      softmax_rows(s.data<float>(), Lq, Lk, Lk);
      gemm_f32(Lq, Dv, Lk, s.data<float>(), Lk, vp, v.stride(1), /*b_is_nk=*/false, op, out.stride(1));
    }
}

}  // namespace wan::ops::cuda

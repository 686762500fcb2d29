// Probe: which FP8 scale modes cuBLASLt's heuristics offer algorithms for on this card (dev/experiments/README.md).
#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <vector>

int main() {
  cublasLtHandle_t lt;
  cublasLtCreate(&lt);
  std::printf("cublasLt version %zu\n", cublasLtGetVersion());
  const int64_t M = 8192, N = 5120, K = 5120;
  struct Mode { const char* name; int a, b; };
  const Mode modes[] = {
      {"scalar/scalar", CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F, CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F},
      {"outer/outer", CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F, CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F},
      {"blk128x128/vec128", CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F, CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F},
      {"vec128/vec128", CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F, CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F},
      {"vec128/blk128x128", CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F, CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F},
  };
  const cublasLtEpilogue_t epis[] = {CUBLASLT_EPILOGUE_DEFAULT, CUBLASLT_EPILOGUE_BIAS, CUBLASLT_EPILOGUE_GELU_BIAS};
  const char* epi_names[] = {"default", "bias", "gelu+bias"};
  void* ws;
  cudaMalloc(&ws, 32 << 20);
  float* scales;
  cudaMalloc(&scales, 1 << 24);
  const void* sp = scales;
  for (const Mode& m : modes)
    for (int fast = 0; fast < 2; ++fast)
      for (int dt = 0; dt < 2; ++dt)
        for (int e = 0; e < 3; ++e) {
          cublasLtMatmulDesc_t desc;
          cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F);
          const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
          cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta);
          cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb);
          cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &m.a, sizeof m.a);
          cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &m.b, sizeof m.b);
          if (getenv("SET_POINTERS")) {
            cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &sp, sizeof sp);
            cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &sp, sizeof sp);
          }
          const int8_t f = int8_t(fast);
          cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_FAST_ACCUM, &f, sizeof f);
          cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epis[e], sizeof epis[e]);
          if (e > 0) {
            const cudaDataType_t bt = CUDA_R_16BF;
            cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof bt);
          }
          const cudaDataType_t dtype = dt ? CUDA_R_32F : CUDA_R_16BF;
          cublasLtMatrixLayout_t a, b, c;
          cublasLtMatrixLayoutCreate(&a, CUDA_R_8F_E4M3, K, N, K);
          cublasLtMatrixLayoutCreate(&b, CUDA_R_8F_E4M3, K, M, K);
          cublasLtMatrixLayoutCreate(&c, dtype, N, M, N);
          cublasLtMatmulPreference_t pref;
          cublasLtMatmulPreferenceCreate(&pref);
          uint64_t wsb = 32 << 20;
          cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsb, sizeof wsb);
          cublasLtMatmulHeuristicResult_t res[8];
          int found = 0;
          const cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(lt, desc, a, b, c, c, pref, 8, res, &found);
          std::printf("%-20s fast=%d D=%s epi=%-10s: %s, %d algorithms\n", m.name, fast, dt ? "f32 " : "bf16",
                      epi_names[e], cublasLtGetStatusString(st), st == CUBLAS_STATUS_SUCCESS ? found : 0);
          cublasLtMatmulPreferenceDestroy(pref);
          cublasLtMatrixLayoutDestroy(a);
          cublasLtMatrixLayoutDestroy(b);
          cublasLtMatrixLayoutDestroy(c);
          cublasLtMatmulDescDestroy(desc);
        }
  return 0;
}

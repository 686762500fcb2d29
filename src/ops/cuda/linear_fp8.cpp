// ops/linear_fp8.h on the GPU: one cuBLASLt FP8 matmul per call. As in linear.cpp, PyTorch's
// row-major y = x·Wᵀ is the column-major yᵀ[N, M] = W[N, K]·xᵀ: A = W (E4M3, read transposed:
// the "TN" layout Hopper's FP8 kernels require), B = x (E4M3), D bf16. The scales are cuBLASLt's
// outer-vector mode (cuBLAS >= 12.9 on Hopper): product (i, j) times A-scale[i] (W's output
// channel) and B-scale[j] (x's token); or one scalar each. The bias and GELU-tanh ride in the
// epilogue when cuBLASLt has an algorithm with it, else a separate pass applies them (cuBLASLt 13.1
// on an H100 has them all, found only with the scale pointers set for the query: see try_plan).
// Where a cuBLASLt has no outer-vector algorithm, the product runs unscaled (E4M3 values times E4M3
// values, at most 448² · K: far inside bf16's range; bf16's 2^-8 rounding is below E4M3's 2^-4)
// and one pass applies both scales, the bias and the activation. Which form a shape got is logged.
// Plans are cached per shape and alignment; the fastest of the top heuristic candidates is timed
// once on the first call's own operands, as for bf16 (ops/cuda/lt_matmul.h).
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_context.h"
#include "core/env.h"
#include "core/log.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/lt_matmul.h"

namespace wan::ops::cuda {
namespace {

// Hopper's FP8 products accumulate in the tensor cores with reduced precision; cuBLASLt by
// default adds their partial sums into f32 every few k-steps ("promotion"). Fast accumulation
// (CUBLASLT_MATMUL_DESC_FAST_ACCUM) skips that, as inference commonly does: on an H100 the 720p
// A14B products 5% faster (1.53 -> 1.45 s a forward), the 4-block A14B-width FP8 forward's error
// against f32 unchanged (5.74e-2 / 5.72e-2: E4M3's rounding of the inputs dominates; eighteenth
// session, docs/performance.md). WAN_FP8_FAST_ACCUM=0 in the environment promotes as cuBLASLt's
// default does.
bool fast_accumulation() {
  static const bool on = !env_is("WAN_FP8_FAST_ACCUM", "0");
  return on;
}

// What the product does itself; the rest is a pass after it.
enum class Form {
  Fused,     // scales, bias and activation in cuBLASLt
  Scaled,    // scales in cuBLASLt; bias/activation by bias_act_bf16
  Unscaled,  // neither: scale_bias_act_bf16 applies the scales too
};

struct Plan {
  LtPlan lt;
  Form form = Form::Fused;
};

// M, N, K, activation, bias, vector scales, alignments of W, x, y, bias.
using Key = std::tuple<int64_t, int64_t, int64_t, int, bool, bool, int, int, int, int>;

// The descriptors for one epilogue and scale mode (unit: no scales); false when cuBLASLt offers
// no algorithm for them.
bool try_plan(LtPlan& p, const Key& key, cublasLtEpilogue_t epi, bool unit_scales, std::string& why) {
  const auto [M, N, K, act, has_bias, vector_scales, align_w, align_x, align_y, align_b] = key;
  (void)act;
  (void)has_bias;
  WAN_CUBLAS_CHECK(cublasLtMatmulDescCreate(&p.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
  WAN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
  WAN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
  if (!unit_scales) {
    const int32_t mode =
        vector_scales ? CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F : CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F;
    WAN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &mode, sizeof mode));
    WAN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &mode, sizeof mode));
    // cuBLASLt 13.1's heuristics offer no algorithm for the outer-vector mode while the scale
    // pointers are unset ("an unsupported value or parameter"); any device address serves for the
    // query, each call sets the real ones (nineteenth session: dev/experiments/lt_scale_probe.cpp).
    const void* placeholder = wan::cuda::context().lt_workspace;
    WAN_CUBLAS_CHECK(
        cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &placeholder, sizeof placeholder));
    WAN_CUBLAS_CHECK(
        cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &placeholder, sizeof placeholder));
  }
  WAN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
  const int8_t fast = fast_accumulation() ? 1 : 0;
  WAN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_FAST_ACCUM, &fast, sizeof fast));
  if (epi != CUBLASLT_EPILOGUE_DEFAULT && epi != CUBLASLT_EPILOGUE_GELU) {
    const cudaDataType_t bias_type = CUDA_R_16BF;
    WAN_CUBLAS_CHECK(
        cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bias_type, sizeof bias_type));
  }
  WAN_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.a, CUDA_R_8F_E4M3, uint64_t(K), uint64_t(N), K));  // W: [K, N]
  WAN_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.b, CUDA_R_8F_E4M3, uint64_t(K), uint64_t(M), K));  // x: [K, M]
  WAN_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.c, CUDA_R_16BF, uint64_t(N), uint64_t(M), N));     // y: [N, M]
  const cublasStatus_t st = lt_find_algorithms(p, align_w, align_x, align_y, align_b);
  if (!p.candidates.empty()) return true;
  why = cublasLtGetStatusString(st);
  lt_destroy(p);
  return false;
}

Plan make_plan(const Key& key) {
  const auto [M, N, K, act, has_bias, vector_scales, aw, ax, ay, ab] = key;
  cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_DEFAULT;
  if (Activation(act) == Activation::GeluTanh) epi = has_bias ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_GELU;
  else if (has_bias) epi = CUBLASLT_EPILOGUE_BIAS;
  Plan p;
  std::string why, why_scaled;
  const char* form = "scales, bias and activation fused";
  if (try_plan(p.lt, key, epi, false, why)) {
    p.form = Form::Fused;
  } else if (epi != CUBLASLT_EPILOGUE_DEFAULT && try_plan(p.lt, key, CUBLASLT_EPILOGUE_DEFAULT, false, why)) {
    p.form = Form::Scaled;
    form = "scales fused, bias/activation in a separate pass";
  } else {
    why_scaled = why;
    WAN_CHECK(try_plan(p.lt, key, CUBLASLT_EPILOGUE_DEFAULT, true, why), "cuBLASLt has no FP8 algorithm for linear M=",
              M, " N=", N, " K=", K, " (", why, "); FP8 products need Hopper (sm_90) or Ada (sm_89)");
    p.form = Form::Unscaled;
    form = "unscaled product, scales/bias/activation in a separate pass";
  }
  static bool told = false;
  if (!told || p.form != Form::Fused) {
    told = true;
    WAN_LOG_DEBUG("cuBLASLt FP8 linear M=", M, " N=", N, " K=", K, (vector_scales ? " per-row" : " scalar"),
                  " scales: ", form, why_scaled.empty() ? "" : " (scaled: ", why_scaled, why_scaled.empty() ? "" : ")");
  }
  return p;
}

// The plan of a key, made on its first use; the caller holds plans_mutex() while it uses the plan.
Plan& plan_of(const Key& key) {
  static std::map<Key, Plan> plans;
  auto it = plans.find(key);
  if (it == plans.end()) it = plans.emplace(key, make_plan(key)).first;
  return it->second;
}

std::mutex& plans_mutex() {
  static std::mutex mutex;
  return mutex;
}

}  // namespace

const char* linear_fp8_form(int64_t M, int64_t N, int64_t K, Activation act, bool bias, bool vector_scales) {
  std::lock_guard<std::mutex> lock(plans_mutex());
  switch (plan_of(Key{M, N, K, int(act), bias, vector_scales, 256, 256, 256, 256}).form) {
    case Form::Fused: return "fused";
    case Form::Scaled: return "scaled";
    default: return "unscaled";
  }
}

void linear_fp8(const Tensor& xq, const Tensor& x_scales, const Tensor& wq, const Tensor& w_scales, const Tensor& bias,
                Activation act, Tensor& y2d) {
  WAN_CHECK(act != Activation::SiLU, "linear_fp8 on CUDA: the SiLU epilogue is not implemented");
  const int64_t M = xq.size(0), K = xq.size(1), N = wq.size(0);
  if (M == 0) return;
  const bool has_bias = bias.defined();
  const bool vector_scales = x_scales.numel() != 1 || w_scales.numel() != 1;
  const Key key{M, N, K, int(act), has_bias, vector_scales, alignment_of(wq.data_ptr()), alignment_of(xq.data_ptr()),
                alignment_of(y2d.data_ptr()), has_bias ? alignment_of(bias.data_ptr()) : 256};
  std::lock_guard<std::mutex> lock(plans_mutex());
  Plan& plan = plan_of(key);
  if (plan.form != Form::Unscaled) {
    const void* a_scale = w_scales.data_ptr();
    const void* b_scale = x_scales.data_ptr();
    WAN_CUBLAS_CHECK(
        cublasLtMatmulDescSetAttribute(plan.lt.desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &a_scale, sizeof a_scale));
    WAN_CUBLAS_CHECK(
        cublasLtMatmulDescSetAttribute(plan.lt.desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &b_scale, sizeof b_scale));
  }
  if (has_bias && plan.form == Form::Fused) {
    const void* bp = bias.data_ptr();
    WAN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.lt.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bp, sizeof bp));
  }
  lt_tune_once(plan.lt,
               str("linear fp8 M=", M, " N=", N, " K=", K, " act=", int(act), " bias=", has_bias, " vector=",
                   vector_scales, " form=", int(plan.form), " align=", std::get<6>(key), ",", std::get<7>(key), ",",
                   std::get<8>(key), ",", std::get<9>(key), " fast_accum=", fast_accumulation()),
               wq.data_ptr(), xq.data_ptr(), y2d.data_ptr());
  lt_matmul(plan.lt, plan.lt.algo, wq.data_ptr(), xq.data_ptr(), y2d.data_ptr());
  if (plan.form == Form::Scaled) bias_act_bf16(y2d, bias, act == Activation::GeluTanh);
  if (plan.form == Form::Unscaled) scale_bias_act_bf16(y2d, x_scales, w_scales, bias, act == Activation::GeluTanh);
}

}  // namespace wan::ops::cuda

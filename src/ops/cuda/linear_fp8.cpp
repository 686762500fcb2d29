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
// The first call of a shape also times the offered form against the unscaled product and its pass
// and keeps the faster (choose_form).
// Plans are cached per shape and alignment; the fastest of the top heuristic candidates is timed
// once on the first call's own operands, as for bf16 (ops/cuda/lt_matmul.h).
#include <cstdint>
#include <map>
#include <optional>
#include <mutex>
#include <string>
#include <tuple>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_context.h"
#include "backend/cuda/stream_timer.h"
#include "core/env.h"
#include "core/log.h"
#include "core/tuning_cache.h"
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
  bool form_chosen = false;  // a Fused/Scaled plan timed against the unscaled product (choose_form)
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

// The operands of one call.
struct Operands {
  const Tensor &xq, &x_scales, &wq, &w_scales, &bias;
  Activation act;
  Tensor& y2d;
};

std::string problem_name(const Key& key, Form form) {
  return str("linear fp8 M=", std::get<0>(key), " N=", std::get<1>(key), " K=", std::get<2>(key), " act=",
             std::get<3>(key), " bias=", std::get<4>(key), " vector=", std::get<5>(key), " form=", int(form),
             " align=", std::get<6>(key), ",", std::get<7>(key), ",", std::get<8>(key), ",", std::get<9>(key),
             " fast_accum=", fast_accumulation());
}

// The product in `form` through `lt` (tuned first if new), and the pass that form needs.
void run_form(LtPlan& lt, Form form, const Key& key, const Operands& op) {
  if (form != Form::Unscaled) {
    const void* a_scale = op.w_scales.data_ptr();
    const void* b_scale = op.x_scales.data_ptr();
    WAN_CUBLAS_CHECK(
        cublasLtMatmulDescSetAttribute(lt.desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &a_scale, sizeof a_scale));
    WAN_CUBLAS_CHECK(
        cublasLtMatmulDescSetAttribute(lt.desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &b_scale, sizeof b_scale));
  }
  const bool has_bias = op.bias.defined();
  if (has_bias && form == Form::Fused) {
    const void* bp = op.bias.data_ptr();
    WAN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(lt.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bp, sizeof bp));
  }
  lt_tune_once(lt, problem_name(key, form), op.wq.data_ptr(), op.xq.data_ptr(), op.y2d.data_ptr());
  lt_matmul(lt, lt.algo, op.wq.data_ptr(), op.xq.data_ptr(), op.y2d.data_ptr());
  if (form == Form::Scaled) bias_act_bf16(op.y2d, op.bias, op.act == Activation::GeluTanh);
  if (form == Form::Unscaled)
    scale_bias_act_bf16(op.y2d, op.x_scales, op.w_scales, op.bias, op.act == Activation::GeluTanh);
}

// Once per shape: the form cuBLASLt offers against the unscaled product and its pass, the faster
// kept (and remembered in the tuning cache). The nineteenth session found the fused form slower
// for the FFN's second product at 720p (its one algorithm: 8.6-8.8 ms against 7.9-8.1 ms for the
// unscaled product and its pass), faster for the others.
// WAN_FP8_CHOOSE_FORM=0 in the environment keeps the offered form untimed (for comparisons).
void choose_form(Plan& plan, const Key& key, const Operands& op) {
  plan.form_chosen = true;
  static const bool on = !env_is("WAN_FP8_CHOOSE_FORM", "0");
  if (!on || plan.form == Form::Unscaled) return;
  const std::string problem = "form of " + problem_name(key, plan.form);
  TuningCache* cache = wan::cuda::tuning_cache();
  const std::optional<std::string> stored = cache ? cache->lookup(problem) : std::nullopt;
  if (stored && *stored != "unscaled") return;
  LtPlan unscaled;
  std::string why;
  if (!try_plan(unscaled, key, CUBLASLT_EPILOGUE_DEFAULT, true, why)) return;
  bool take_unscaled = stored.has_value();
  if (!stored) {
    // The unscaled product with cuBLASLt's first candidate (its own tuning waits until it is
    // chosen: the comparison leans towards the offered form, which keeps a cold start short).
    unscaled.tuned = true;
    run_form(plan.lt, plan.form, key, op);  // tunes, and warms up
    run_form(unscaled, Form::Unscaled, key, op);
    const float offered = wan::cuda::fastest_ms(3, [&] { run_form(plan.lt, plan.form, key, op); });
    const float plain = wan::cuda::fastest_ms(3, [&] { run_form(unscaled, Form::Unscaled, key, op); });
    take_unscaled = plain < offered;
    WAN_LOG_DEBUG("cuBLASLt FP8 linear M=", std::get<0>(key), " N=", std::get<1>(key), " K=", std::get<2>(key),
                  ": offered form ", offered, " ms, unscaled product and pass ", plain, " ms; chose ",
                  take_unscaled ? "unscaled" : "offered");
    if (cache) cache->store(problem, take_unscaled ? "unscaled" : "offered");
  }
  if (take_unscaled) {
    lt_destroy(plan.lt);
    plan.lt = unscaled;
    plan.lt.tuned = false;  // tuned on its next run (or its choice taken from the cache)
    plan.form = Form::Unscaled;
  } else {
    lt_destroy(unscaled);
  }
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
  const Operands op{xq, x_scales, wq, w_scales, bias, act, y2d};
  if (!plan.form_chosen) choose_form(plan, key, op);
  run_form(plan.lt, plan.form, key, op);
}

}  // namespace wan::ops::cuda

// ops/attention.h on the GPU: cuDNN's fused flash attention through the backend API's unified
// SDPA operation (CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR, cuDNN >= 9.13), one graph per
// shape and layout, planned once and cached. Q, K, V and O are read and written in place in the
// [B, L, H, D] layout our kernels use: cuDNN's logical [b, h, s, d] dims with BSHD strides, no
// transposes. A key length shorter than Lk is a narrower view of that sample's K and V (the
// 9.14 unified op has no sequence-length inputs), so samples with different lengths run apart.
// The first few engine configs the heuristics (mode A) offer that finalize are kept, and the
// first call of a shape times each on its own operands and keeps the fastest (cudnn_graph.h): the
// heuristics' first choice is not always the fastest kernel for long sequences. (Mode FALLBACK's
// engines are only taken when mode A has none: they can be orders of magnitude slower at 75k tokens.)
// On Hopper with head dim 128 our own kernel (flash_attention_sm90.h) is timed against cuDNN's
// chosen plan on that first call too, and the faster of the two runs the shape from then on.
// These choices go to the tuning cache (attention_choice.h): a later process takes them without
// timing, and where ours was chosen it builds no cuDNN plan at all.
#include <cudnn.h>

#include <array>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_context.h"
#include "backend/cuda/cudnn_check.h"
#include "core/log.h"
#include "ops/cuda/attention_choice.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/cudnn_graph.h"
#include "ops/cuda/flash_attention_sm90.h"

namespace wan::ops::cuda {
namespace {

enum Uid : int64_t { kQ = 1, kK = 2, kV = 3, kO = 4, kScale = 5 };

struct Plan {
  std::vector<Candidate> candidates;  // every finalized engine config (built when first needed); the chosen one first
  bool tuned = false;
  bool ours = false;  // flash_attention_sm90 measured faster
};

// Shape key: Lq, Lk, H, D, and the sequence strides of Q, K/V, O (in elements).
using Key = std::array<int64_t, 7>;

std::vector<Candidate> make_candidates(const Key& k) {
  const auto [Lq, Lk, H, D, sq, skv, so] = k;
  cudnnHandle_t h = wan::cuda::cudnn_handle();
  // Logical [b, h, s, d]; memory [b, s, h, d] (row stride s_x per token, head stride D).
  Desc q = tensor_desc(kQ, CUDNN_DATA_BFLOAT16, {1, H, Lq, D}, {Lq * sq, D, sq, 1});
  Desc kd = tensor_desc(kK, CUDNN_DATA_BFLOAT16, {1, H, Lk, D}, {Lk * skv, D, skv, 1});
  Desc v = tensor_desc(kV, CUDNN_DATA_BFLOAT16, {1, H, Lk, D}, {Lk * skv, D, skv, 1});
  Desc o = tensor_desc(kO, CUDNN_DATA_BFLOAT16, {1, H, Lq, D}, {Lq * so, D, so, 1});
  Desc scale = tensor_desc(kScale, CUDNN_DATA_FLOAT, {1, 1, 1, 1}, {1, 1, 1, 1}, TensorKind::ByValue);

  Desc op(CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR);
  op.set(CUDNN_ATTR_OPERATION_SDPA_FWD_QDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &q.d);
  op.set(CUDNN_ATTR_OPERATION_SDPA_FWD_KDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &kd.d);
  op.set(CUDNN_ATTR_OPERATION_SDPA_FWD_VDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &v.d);
  op.set(CUDNN_ATTR_OPERATION_SDPA_FWD_ODESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &o.d);
  op.set(CUDNN_ATTR_OPERATION_SDPA_FWD_SCALEDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &scale.d);
  op.finalize();

  Desc graph(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
  graph.set(CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &op.d);
  graph.set(CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &h);
  graph.finalize();

  std::string why;
  std::vector<Candidate> candidates = execution_plans(graph, 4, why);
  WAN_CHECK(!candidates.empty(), "cuDNN could not build an attention plan for Lq=", Lq, " Lk=", Lk, " H=", H,
            " D=", D, ": ", why.empty() ? "no engine" : why);
  return candidates;
}

void run(const Candidate& c, void* q, void* k, void* v, void* o, float scale, Tensor& workspace) {
  execute(c, {kQ, kK, kV, kO, kScale}, {q, k, v, o, &scale}, workspace);
}

}  // namespace

void attention(const Tensor& q, const Tensor& k, const Tensor& v, const std::vector<int64_t>& k_lens, double scale,
               Tensor& out) {
  const int64_t B = q.size(0), Lq = q.size(1), H = q.size(2), D = q.size(3), Lk = k.size(1);
  static std::mutex mutex;
  static std::map<Key, Plan> plans;
  static Tensor workspace;
  std::lock_guard<std::mutex> lock(mutex);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t len = k_lens.empty() ? Lk : k_lens[size_t(b)];
    char* qp = static_cast<char*>(q.data_ptr()) + b * q.stride(0) * 2;
    char* kp = static_cast<char*>(k.data_ptr()) + b * k.stride(0) * 2;
    char* vp = static_cast<char*>(v.data_ptr()) + b * v.stride(0) * 2;
    char* op = static_cast<char*>(out.data_ptr()) + b * out.stride(0) * 2;
    if (len == 0) {
      WAN_CUDA_CHECK(cudaMemsetAsync(op, 0, size_t(Lq * H * D * 2), wan::cuda::context().stream));
      continue;
    }
    const Key key{Lq, len, H, D, q.stride(1), k.stride(1), out.stride(1)};
    Plan& plan = plans[key];
    const bool ours_fits = flash_sm90_available(D) &&
                           flash_sm90_aligned({qp, kp, vp, op}, {2 * q.stride(1), 2 * k.stride(1), 2 * out.stride(1)});
    const auto run_ours = [&] {
      flash_attention_sm90_bf16(qp, q.stride(1), kp, vp, k.stride(1), op, out.stride(1), Lq, len, H, float(scale));
    };
    if (!plan.tuned) {
      plan.tuned = true;
      plan.ours = choose_attention(
          {wan::cuda::tuning_cache(),
           str("attention bf16 Lq=", Lq, " Lk=", len, " H=", H, " D=", D, " strides=", key[4], ",", key[5], ",", key[6],
               " ours=", ours_fits ? flash_sm90_key_tile(false) : 0),
           str("attention Lq=", Lq, " Lk=", len, " H=", H), ours_fits,
           [&] { plan.candidates = make_candidates(key); },
           [&](const Candidate& c) { run(c, qp, kp, vp, op, float(scale), workspace); }, run_ours},
          plan.candidates);
    }
    if (plan.ours && ours_fits) {
      run_ours();
    } else {
      if (plan.candidates.empty()) plan.candidates = make_candidates(key);  // ours chosen, but not for these operands
      run(plan.candidates.front(), qp, kp, vp, op, float(scale), workspace);
    }
  }
}

}  // namespace wan::ops::cuda

// ops/attention.h on the GPU: cuDNN's fused flash attention through the backend API's unified
// SDPA operation (CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR, cuDNN >= 9.13), one graph per
// shape and layout, planned once and cached. Q, K, V and O are read and written in place in the
// [B, L, H, D] layout our kernels use: cuDNN's logical [b, h, s, d] dims with BSHD strides, no
// transposes. A key length shorter than Lk is a narrower view of that sample's K and V (the
// 9.14 unified op has no sequence-length inputs), so samples with different lengths run apart.
// The first few engine configs the heuristics (mode A) offer that finalize are kept, and the
// first call of a shape times each on its own operands and keeps the fastest: the heuristics'
// first choice is not always the fastest kernel for long sequences. (Mode FALLBACK's engines are
// only taken when mode A has none: they can be orders of magnitude slower at 75k tokens.)
#include <cudnn.h>

#include <array>
#include <map>
#include <mutex>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_context.h"
#include "backend/cuda/cudnn_check.h"
#include "core/log.h"
#include "ops/cuda/cuda_ops.h"

namespace wan::ops::cuda {
namespace {

enum Uid : int64_t { kQ = 1, kK = 2, kV = 3, kO = 4, kScale = 5 };

cudnnHandle_t handle() { return wan::cuda::cudnn_handle(); }

// A backend descriptor, destroyed with the object.
struct Desc {
  cudnnBackendDescriptor_t d = nullptr;
  explicit Desc(cudnnBackendDescriptorType_t type) { WAN_CUDNN_CHECK(cudnnBackendCreateDescriptor(type, &d)); }
  Desc(Desc&& o) noexcept : d(o.d) { o.d = nullptr; }
  Desc(const Desc&) = delete;
  ~Desc() {
    if (d) cudnnBackendDestroyDescriptor(d);
  }
  void set(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, int64_t count, const void* value) {
    WAN_CUDNN_CHECK(cudnnBackendSetAttribute(d, name, type, count, value));
  }
  void finalize() { WAN_CUDNN_CHECK(cudnnBackendFinalize(d)); }
};

Desc tensor_desc(int64_t uid, cudnnDataType_t type, const std::array<int64_t, 4>& dims,
                 const std::array<int64_t, 4>& strides, bool by_value = false) {
  Desc t(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
  const int64_t alignment = 16;
  t.set(CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &type);
  t.set(CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, dims.data());
  t.set(CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, strides.data());
  t.set(CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid);
  t.set(CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &alignment);
  if (by_value) {
    const bool yes = true;
    t.set(CUDNN_ATTR_TENSOR_IS_BY_VALUE, CUDNN_TYPE_BOOLEAN, 1, &yes);
  }
  t.finalize();
  return t;
}

struct Candidate {
  std::unique_ptr<Desc> plan;
  int64_t workspace = 0;
};

struct Plan {
  std::vector<Candidate> candidates;  // every finalized engine config; the chosen one first after tuning
  bool tuned = false;
};

// Shape key: Lq, Lk, H, D, and the sequence strides of Q, K/V, O (in elements).
using Key = std::array<int64_t, 7>;

Plan make_plan(const Key& k) {
  const auto [Lq, Lk, H, D, sq, skv, so] = k;
  cudnnHandle_t h = handle();
  // Logical [b, h, s, d]; memory [b, s, h, d] (row stride s_x per token, head stride D).
  Desc q = tensor_desc(kQ, CUDNN_DATA_BFLOAT16, {1, H, Lq, D}, {Lq * sq, D, sq, 1});
  Desc kd = tensor_desc(kK, CUDNN_DATA_BFLOAT16, {1, H, Lk, D}, {Lk * skv, D, skv, 1});
  Desc v = tensor_desc(kV, CUDNN_DATA_BFLOAT16, {1, H, Lk, D}, {Lk * skv, D, skv, 1});
  Desc o = tensor_desc(kO, CUDNN_DATA_BFLOAT16, {1, H, Lq, D}, {Lq * so, D, so, 1});
  Desc scale = tensor_desc(kScale, CUDNN_DATA_FLOAT, {1, 1, 1, 1}, {1, 1, 1, 1}, true);

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

  Plan result;
  std::string why;
  for (const cudnnBackendHeurMode_t mode : {CUDNN_HEUR_MODE_A, CUDNN_HEUR_MODE_FALLBACK}) {
    if (!result.candidates.empty()) break;
    Desc heur(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
    heur.set(CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &graph.d);
    heur.set(CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode);
    if (cudnnBackendFinalize(heur.d) != CUDNN_STATUS_SUCCESS) {
      why = wan::cuda::cudnn_last_error();
      continue;
    }
    int64_t count = 0;
    WAN_CUDNN_CHECK(cudnnBackendGetAttribute(heur.d, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 0,
                                             &count, nullptr));
    std::vector<Desc> cfgs;
    std::vector<cudnnBackendDescriptor_t> raw;
    for (int64_t i = 0; i < count; ++i) {
      cfgs.emplace_back(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
      raw.push_back(cfgs.back().d);
    }
    int64_t returned = 0;
    if (count > 0)
      WAN_CUDNN_CHECK(cudnnBackendGetAttribute(heur.d, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR,
                                               count, &returned, raw.data()));
    for (int64_t i = 0; i < returned && result.candidates.size() < 4; ++i) {
      auto plan = std::make_unique<Desc>(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
      plan->set(CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &raw[size_t(i)]);
      plan->set(CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &h);
      if (cudnnBackendFinalize(plan->d) != CUDNN_STATUS_SUCCESS) {
        why = wan::cuda::cudnn_last_error();
        continue;  // the next engine config may work
      }
      Candidate c;
      WAN_CUDNN_CHECK(cudnnBackendGetAttribute(plan->d, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, CUDNN_TYPE_INT64, 1,
                                               nullptr, &c.workspace));
      c.plan = std::move(plan);
      result.candidates.push_back(std::move(c));
    }
  }
  WAN_CHECK(!result.candidates.empty(), "cuDNN could not build an attention plan for Lq=", Lq, " Lk=", Lk, " H=", H,
            " D=", D, ": ", why.empty() ? "no engine" : why);
  return result;
}

void execute(const Candidate& c, void* q, void* k, void* v, void* o, float scale, Tensor& workspace) {
  if (c.workspace > 0 && (!workspace.defined() || int64_t(workspace.nbytes()) < c.workspace))
    workspace = wan::cuda::empty({c.workspace}, DType::U8);
  int64_t uids[5] = {kQ, kK, kV, kO, kScale};
  void* ptrs[5] = {q, k, v, o, &scale};
  void* ws = c.workspace > 0 ? workspace.data_ptr() : nullptr;
  Desc pack(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
  pack.set(CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 5, uids);
  pack.set(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 5, ptrs);
  pack.set(CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &ws);
  pack.finalize();
  WAN_CUDNN_CHECK(cudnnBackendExecute(handle(), c.plan->d, pack.d));
}

// Times each candidate on the call's own operands (one warm-up, then a second run only when the
// first is within 1.25x of the best so far) and moves the fastest to the front.
void autotune(Plan& p, void* q, void* k, void* v, void* o, float scale, Tensor& workspace) {
  p.tuned = true;
  if (p.candidates.size() < 2) return;
  cudaStream_t stream = wan::cuda::context().stream;
  cudaEvent_t a, b;
  WAN_CUDA_CHECK(cudaEventCreate(&a));
  WAN_CUDA_CHECK(cudaEventCreate(&b));
  size_t best = 0;
  float best_ms = 1e30f;
  std::string timings;
  for (size_t i = 0; i < p.candidates.size(); ++i) {
    try {
      execute(p.candidates[i], q, k, v, o, scale, workspace);
      float fastest = 1e30f;
      for (int r = 0; r < 2; ++r) {
        if (r == 1 && fastest > 1.25f * best_ms) break;  // clearly slower: not worth a second run
        WAN_CUDA_CHECK(cudaEventRecord(a, stream));
        execute(p.candidates[i], q, k, v, o, scale, workspace);
        WAN_CUDA_CHECK(cudaEventRecord(b, stream));
        WAN_CUDA_CHECK(cudaEventSynchronize(b));
        float ms = 0;
        WAN_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
        fastest = std::min(fastest, ms);
      }
      timings += str(" ", i, ":", fastest, "ms");
      if (fastest < best_ms) {
        best_ms = fastest;
        best = i;
      }
    } catch (const Error& e) {
      timings += str(" ", i, ":failed");
    }
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  WAN_CHECK(best_ms < 1e30f, "cuDNN attention: no engine config executed");
  std::swap(p.candidates[0], p.candidates[best]);
  WAN_LOG_DEBUG("cuDNN attention engines (", p.candidates.size(), "):", timings, "; chose ", best);
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
    auto it = plans.find(key);
    if (it == plans.end()) it = plans.emplace(key, make_plan(key)).first;
    Plan& plan = it->second;
    if (!plan.tuned) autotune(plan, qp, kp, vp, op, float(scale), workspace);
    execute(plan.candidates.front(), qp, kp, vp, op, float(scale), workspace);
  }
}

}  // namespace wan::ops::cuda

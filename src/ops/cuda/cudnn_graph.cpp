#include "ops/cuda/cudnn_graph.h"

#include <functional>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_context.h"
#include "backend/cuda/stream_timer.h"
#include "core/log.h"

namespace wan::ops::cuda {

Desc tensor_desc(int64_t uid, cudnnDataType_t type, const std::array<int64_t, 4>& dims,
                 const std::array<int64_t, 4>& strides, TensorKind kind) {
  Desc t(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
  const int64_t alignment = 16;
  t.set(CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &type);
  t.set(CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, dims.data());
  t.set(CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, strides.data());
  t.set(CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid);
  t.set(CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &alignment);
  const bool yes = true;
  if (kind == TensorKind::ByValue) t.set(CUDNN_ATTR_TENSOR_IS_BY_VALUE, CUDNN_TYPE_BOOLEAN, 1, &yes);
  if (kind == TensorKind::Virtual) t.set(CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, 1, &yes);
  t.finalize();
  return t;
}

std::vector<Candidate> execution_plans(const Desc& graph, size_t limit, std::string& why) {
  cudnnHandle_t h = wan::cuda::cudnn_handle();
  std::vector<Candidate> result;
  for (const cudnnBackendHeurMode_t mode : {CUDNN_HEUR_MODE_A, CUDNN_HEUR_MODE_FALLBACK}) {
    if (!result.empty()) break;
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
    for (int64_t i = 0; i < returned && result.size() < limit; ++i) {
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
      result.push_back(std::move(c));
    }
  }
  return result;
}

void execute(const Candidate& c, const std::vector<int64_t>& uids, const std::vector<void*>& ptrs, Tensor& workspace) {
  if (c.workspace > 0 && (!workspace.defined() || int64_t(workspace.nbytes()) < c.workspace))
    workspace = wan::cuda::empty({c.workspace}, DType::U8);
  void* ws = c.workspace > 0 ? workspace.data_ptr() : nullptr;
  Desc pack(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
  pack.set(CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, int64_t(uids.size()), uids.data());
  pack.set(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, int64_t(ptrs.size()), ptrs.data());
  pack.set(CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &ws);
  pack.finalize();
  WAN_CUDNN_CHECK(cudnnBackendExecute(wan::cuda::cudnn_handle(), c.plan->d, pack.d));
}

size_t keep_fastest(std::vector<Candidate>& candidates, const char* what,
                    const std::function<void(const Candidate&)>& run) {
  if (candidates.size() < 2) return 0;
  size_t best = 0;
  float best_ms = 1e30f;
  std::string timings;
  for (size_t i = 0; i < candidates.size(); ++i) {
    try {
      run(candidates[i]);  // warm-up
      float fastest = wan::cuda::fastest_ms(1, [&] { run(candidates[i]); });
      if (fastest <= 1.25f * best_ms)  // not clearly slower: worth a second run
        fastest = std::min(fastest, wan::cuda::fastest_ms(1, [&] { run(candidates[i]); }));
      timings += str(" ", i, ":", fastest, "ms");
      if (fastest < best_ms) {
        best_ms = fastest;
        best = i;
      }
    } catch (const Error&) {
      timings += str(" ", i, ":failed");
    }
  }
  WAN_CHECK(best_ms < 1e30f, what, ": no cuDNN engine config executed");
  std::swap(candidates[0], candidates[best]);
  WAN_LOG_DEBUG(what, " engines (", candidates.size(), "):", timings, "; chose ", best);
  return best;
}

}  // namespace wan::ops::cuda

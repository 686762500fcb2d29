// Small helpers over cuDNN's backend (graph) API, shared by the attention graphs: descriptors
// that destroy themselves, tensor descriptors, the engine configs the heuristics offer for a graph
// finalised into execution plans, execution with a variant pack, and timing the candidates.
#pragma once

#include <cudnn.h>

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/cuda/cudnn_check.h"
#include "core/tensor.h"

namespace wan::ops::cuda {

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

enum class TensorKind { Memory, ByValue, Virtual };

// A finalised 4-D tensor descriptor (16-byte alignment).
Desc tensor_desc(int64_t uid, cudnnDataType_t type, const std::array<int64_t, 4>& dims,
                 const std::array<int64_t, 4>& strides, TensorKind kind = TensorKind::Memory);

struct Candidate {
  std::unique_ptr<Desc> plan;
  int64_t workspace = 0;
};

// Up to `limit` execution plans for the finalised operation graph, from heuristics mode A (mode
// FALLBACK only when A has none). Empty when none finalises; `why` then says cuDNN's reason.
std::vector<Candidate> execution_plans(const Desc& graph, size_t limit, std::string& why);

// Runs one plan; `workspace` grows to what the plan needs.
void execute(const Candidate& c, const std::vector<int64_t>& uids, const std::vector<void*>& ptrs, Tensor& workspace);

// Times each candidate with `run` (one warm-up, then a second run only when the first is within
// 1.25x of the best so far), moves the fastest to the front and logs the times under `what`;
// returns the fastest one's index in the order given. Candidates that throw are skipped; throws
// when none runs.
size_t keep_fastest(std::vector<Candidate>& candidates, const char* what,
                    const std::function<void(const Candidate&)>& run);

}  // namespace wan::ops::cuda

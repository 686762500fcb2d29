#include "models/weight_binding.h"

#include <set>

#include "core/error.h"
#include "core/thread_pool.h"

namespace wan {

void check_weights(const TensorStore& store, const std::vector<WeightSlot>& slots, const std::string& model) {
  std::set<std::string> expected;
  for (const WeightSlot& slot : slots) {
    WAN_CHECK(store.contains(slot.name), store.path(), ": missing tensor '", slot.name, "' (expected shape ",
              shape_str(slot.shape), " for ", model, "); is the checkpoint complete?");
    const Tensor& t = store.get(slot.name);
    WAN_CHECK(t.shape() == slot.shape, store.file_of(slot.name), ": tensor '", slot.name, "' has shape ",
              shape_str(t.shape()), ", but the config (", model, ") needs ", shape_str(slot.shape));
    WAN_CHECK(dtype_is_floating(t.dtype()), store.file_of(slot.name), ": tensor '", slot.name, "' has dtype ",
              dtype_name(t.dtype()), "; weights must be floating point");
    expected.insert(slot.name);
  }
  std::vector<std::string> leftovers;
  for (const std::string& name : store.names())
    if (!expected.count(name)) leftovers.push_back(name);
  if (!leftovers.empty()) {
    std::string list;
    for (size_t i = 0; i < leftovers.size() && i < 5; ++i) list += (i ? ", " : "") + leftovers[i];
    if (leftovers.size() > 5) list += str(", ... (", leftovers.size(), " in all)");
    fail(store.path(), ": tensors this model does not use: ", list, "; the config (", model,
         ") does not describe this checkpoint");
  }
}

namespace {

// A converted copy of a checkpoint tensor (contiguous, memory-mapped), in parallel chunks: one
// thread converts ~1-2 GB/s, and a real-size checkpoint is 20-60 GB of fp32. Same dtype: the
// mapped tensor itself, no copy.
Tensor converted(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  if (!t.is_contiguous() || t.numel() < (int64_t(1) << 20)) return t.to(dtype);
  Tensor out = Tensor::empty(t.shape(), dtype);
  const int64_t n = t.numel();
  const Tensor src = t.view({n});
  Tensor dst = out.view({n});
  parallel_for(n, [&](int64_t a, int64_t b) {
    Tensor part = dst.narrow(0, a, b - a);
    part.copy_from(src.narrow(0, a, b - a));
  }, int64_t(1) << 18);
  return out;
}

}  // namespace

void bind_weights(const TensorStore& store, const std::vector<WeightSlot>& slots, const std::string& model,
                  DType dtype) {
  check_weights(store, slots, model);
  for (const WeightSlot& slot : slots) *slot.tensor = converted(store.get(slot.name), dtype);
}

int64_t parameter_count(const std::vector<WeightSlot>& slots) {
  int64_t n = 0;
  for (const WeightSlot& slot : slots) n += shape_numel(slot.shape);
  return n;
}

}  // namespace wan

#include "models/weight_binding.h"

#include <set>

#include "core/error.h"

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

void bind_weights(const TensorStore& store, const std::vector<WeightSlot>& slots, const std::string& model,
                  DType dtype) {
  check_weights(store, slots, model);
  for (const WeightSlot& slot : slots) *slot.tensor = store.get(slot.name).to(dtype);
}

int64_t parameter_count(const std::vector<WeightSlot>& slots) {
  int64_t n = 0;
  for (const WeightSlot& slot : slots) n += shape_numel(slot.shape);
  return n;
}

}  // namespace wan
